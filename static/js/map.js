/* Revincula territory map: Leaflet with our own GeoJSON layers, no external resources. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var map = L.map("map", { zoomSnap: 0.5, minZoom: 6, maxZoom: 18 });
  // The comunas' bounds from the page: the first view is known before any layer arrives.
  if (config.bounds) { map.fitBounds(config.bounds, { padding: [10, 10] }); } else { map.setView([-42.6, -73.75], 9); }
  map.attributionControl.setPrefix("Leaflet");
  var state = { map: map, loaded: {}, layers: {}, errors: [] };
  window.revincula = state;

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { maxZoom: 18, attribution: config.tileAttribution }).addTo(map);
  }

  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }

  // Cluster icon: a round badge with the number of markers it holds (and says so on hover).
  function clusterIcon(cls, size, noun) {
    return function (c) {
      var n = c.getChildCount();
      return L.divIcon({ className: "", iconSize: [size, size],
        html: '<div class="' + cls + '" title="' + esc(n + " " + noun) + '">' + esc(n) + "</div>" });
    };
  }

  // Markers that share one point (cases geocoded to a locality point) stay clustered at every
  // zoom: a click spiderfies a few of them, or lists them all in a popup when there are many.
  var SPIDERFY_MAX = 12;
  function samePoint(cluster) {
    var b = cluster.getBounds();
    return b.getNorthEast().distanceTo(b.getSouthWest()) < 5;  // metres
  }
  function listPopup(cluster, describe) {
    var markers = cluster.getAllChildMarkers().slice();
    markers.sort(function (a, b) { return (b.options.priority || 0) - (a.options.priority || 0); });
    showList(cluster.getLatLng(), markers, describe);
  }
  // A list of cases at one point (`items` ordered by priority), each described by `describe`.
  function showList(latlng, items, describe) {
    var markers = items;
    var box = document.createElement("div");
    box.className = "point-list";
    var head = document.createElement("b");
    head.textContent = markers.length + " casos en este punto";
    box.appendChild(head);
    var note = document.createElement("div");
    note.className = "point-list-note";
    note.textContent = "Ubicados en el mismo punto (p. ej. el punto de una localidad). Ordenados por prioridad.";
    box.appendChild(note);
    var list = document.createElement("ol");
    markers.forEach(function (m) { list.appendChild(describe(m)); });
    box.appendChild(list);
    L.popup({ maxWidth: 320, className: "point-list-popup" })
      .setLatLng(latlng).setContent(box).openOn(map);
    state.pointList = markers.length;
  }
  function onClusterClick(describe) {
    return function (e) {
      var cluster = e.layer;
      if (samePoint(cluster) || map.getZoom() >= map.getMaxZoom()) {
        if (cluster.getChildCount() <= SPIDERFY_MAX) { cluster.spiderfy(); }
        else { listPopup(cluster, describe); }
      } else {
        cluster.zoomToBounds({ padding: [20, 20] });
      }
    };
  }

  function load(name) {
    return fetch("api/capas/" + name + ".geojson").then(function (response) {
      if (!response.ok) { throw new Error("capa " + name + ": HTTP " + response.status); }
      return response.json();
    });
  }

  var overlays = {};
  var control = L.control.layers(null, overlays, { collapsed: window.innerWidth < 1400 }).addTo(map);

  function add(label, layer, visible) {
    control.addOverlay(layer, label);
    if (visible) { layer.addTo(map); }
  }

  var comunasP = load("comunas").then(function (data) {
    var land = L.geoJSON(data, {
      style: { color: "#7b8794", weight: 1, fillColor: "#f4f1e8", fillOpacity: 1 },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(esc(f.properties.comuna_name), { sticky: true });
      }
    });
    add("Comunas", land, true);
    // Comuna names always written, at a point of each comuna's main populated part.
    var names = L.layerGroup();
    map.createPane("labels").style.zIndex = 620;  // above the markers, never catching a click
    map.getPane("labels").style.pointerEvents = "none";
    (config.comunaLabels || []).forEach(function (c) {
      names.addLayer(L.marker([c.lat, c.lon], { interactive: false, keyboard: false, pane: "labels",
        icon: L.divIcon({ className: "comuna-label", iconSize: null, html: "<span>" + esc(c.nombre) + "</span>" }) }));
    });
    add("Nombres de comunas", names, true);
    state.layers.nombres = names;
    map.fitBounds(land.getBounds(), { padding: [10, 10] });
    state.layers.comunas = land;
    state.loaded.comunas = data.features.length;
  });

  var islasP = load("islas").then(function (data) {
    var islands = L.geoJSON(data, {
      filter: function (f) { return !f.properties.is_main; },
      style: { color: "#2f6f8f", weight: 1.5, fill: false, dashArray: "3 3" },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup("<b>" + esc(p.name) + "</b><br>Comuna(s): " + esc(p.comunas) +
          "<br>Superficie: " + p.area_km2.toFixed(1) + " km² (polígono simplificado)" +
          "<br><small>Nombre: " + esc(p.name_source) + "</small>");
      }
    });
    add("Islas menores", islands, true);
    state.layers.islas = islands;
    state.loaded.islas = data.features.length;
  });

  var schoolsP = load("escuelas").then(function (data) {
    var cluster = L.markerClusterGroup({
      maxClusterRadius: 40,
      disableClusteringAtZoom: 13,
      iconCreateFunction: clusterIcon("school-cluster", 26, "establecimientos")
    });
    L.geoJSON(data, {
      pointToLayer: function (f, latlng) {
        var p = f.properties;
        var cls = "school-marker " + (p.is_slep ? "slep" : "other") + " " + (p.is_rural ? "rural" : "urban");
        return L.marker(latlng, {
          icon: L.divIcon({ className: "", html: '<div class="' + cls + '"></div>', iconSize: [12, 12] }),
          title: p.name
        }).bindPopup(
          "<b>" + esc(p.name) + "</b><br>RBD " + esc(p.rbd) + " · " + esc(p.comuna_name) +
          "<br>" + esc(p.dependency) + " · " + (p.is_rural ? "rural" : "urbano") +
          "<br>Matrícula 2025: " + esc(p.enrolment) +
          (p.island_name ? "<br>" + esc(p.island_name) : "") +
          "<br><small>Fuente: Directorio Oficial Mineduc 2025</small>");
      }
    }).eachLayer(function (m) { cluster.addLayer(m); });
    add("Establecimientos educacionales", cluster, true);
    state.layers.escuelas = cluster;
    state.loaded.escuelas = data.features.length;
  });

  var healthP = load("salud").then(function (data) {
    var letters = { hospital: "H", cesfam: "C", cecosf: "c", posta: "P", urgencia: "U", otro: "·" };
    var groups = {};
    L.geoJSON(data, {
      pointToLayer: function (f, latlng) {
        var p = f.properties;
        var marker = L.marker(latlng, {
          icon: L.divIcon({ className: "", html: '<div class="health-marker ' + esc(p.kind) + '">' +
            esc(letters[p.kind]) + "</div>", iconSize: [16, 16] }),
          title: p.name
        }).bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(p.kind_label) + " · " + esc(p.system) +
          "<br>" + esc(p.comuna_name) + "<br><small>Fuente: DEIS, Minsal</small>");
        // A cluster of one kind keeps that kind's colour and letter, with the count beside it.
        (groups[p.kind] = groups[p.kind] || L.markerClusterGroup({ maxClusterRadius: 30, showCoverageOnHover: false,
          iconCreateFunction: function (c) {
            var n = c.getChildCount();
            return L.divIcon({ className: "", iconSize: [30, 16], html: '<div class="health-marker health-cluster ' +
              esc(p.kind) + '" title="' + esc(n + " establecimientos: " + p.kind_label) + '">' +
              esc(letters[p.kind]) + "×" + esc(n) + "</div>" });
          } })).addLayer(marker);
        return marker;
      }
    });
    ["hospital", "cesfam", "cecosf", "posta", "urgencia", "otro"].forEach(function (kind) {
      if (groups[kind]) { add("Salud: " + esc(config.healthLabels[kind]), groups[kind], kind !== "otro"); }
    });
    state.layers.salud = groups;
    state.loaded.salud = data.features.length;
  });

  var boatsP = load("barcos").then(function (data) {
    var boats = L.geoJSON(data, {
      style: function (f) {
        return { color: f.properties.passengers_only ? "#0b7285" : "#1864ab", weight: 3,
          dashArray: f.properties.assumed ? "6 5" : null };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(p.mode) + " · " +
          (p.passengers_only ? "solo pasajeros" : "vehículos y pasajeros") +
          '<div class="popup-schedule">' + esc(p.schedule) + "</div>" +
          (p.assumed ? '<div class="assumed-note">Incluye valores <em>supuesto</em>: ' +
            esc(p.assumed_fields) + "</div>" : "") +
          "<small>Trazado recto entre terminales (aproximado).</small>");
        layer.bindTooltip(esc(p.name));
      }
    });
    add("Líneas de barco", boats, true);
    state.layers.barcos = boats;
    state.loaded.barcos = data.features.length;
  });

  // Cases (synthetic in the demo): colour = attendance category; hollow dashed = low-confidence place.
  var caseLabels = config.caseLabels || {};
  if (config.caseMode === "agregado") {
    // Mesa intersectorial: counts per comuna only, drawn inside each comuna (never a case).
    fetch("api/agregados/comunas.geojson").then(function (response) {
      if (!response.ok) { throw new Error("agregados: HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      var group = L.layerGroup();
      var total = 0;
      data.features.forEach(function (f) {
        var p = f.properties;
        var n = typeof p.total === "number" ? p.total : 1;
        total += typeof p.total === "number" ? p.total : 0;
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        var marker = L.circleMarker(ll, { radius: 6 + Math.sqrt(n) / 2, className: "aggregate-marker" });
        marker.bindTooltip(esc(p.comuna) + ": " + esc(String(p.total)) + " casos");
        marker.bindPopup("<b>" + esc(p.comuna) + "</b><br>" + esc(String(p.total)) + " casos en la última lista" +
          "<br>Crítica " + esc(String(p.critica)) + " · Grave " + esc(String(p.grave)) +
          " · Reiterada " + esc(String(p.reiterada)) + " · Sin matrícula " + esc(String(p.sin_matricula)) +
          "<br><small>Solo totales por comuna; «&lt;" + esc(data.umbral_reserva) + "» = cifra pequeña reservada.</small>");
        group.addLayer(marker);
      });
      add("Casos por comuna (" + total + ")", group, true);
      state.layers.casos = group;
      state.cases = { total: total, baja: 0, agregado: true };
    }).catch(function (err) { state.errors.push(String(err)); });
  } else {
    // Cases seen one by one (the server sends points when the view holds few enough), or
    // counts per H3 cell for a wide view of a large caseload (the server's choice, see
    // geo_app/cases/map_layer.py). Asked again when the view changes, unless every case in
    // scope has already come as points.
    var caseOverlay = L.layerGroup();
    var caseLabel = "Casos ubicados";
    add(caseLabel, caseOverlay, true);
    var caseSeq = 0, caseUrlAsked = null, caseTimer = null, haveAllCases = false;

    var relabel = function (label) {
      if (label === caseLabel) { return; }
      control.removeLayer(caseOverlay);
      control.addOverlay(caseOverlay, label);
      caseLabel = label;
    };

    // The view, snapped outwards to a grid of about a tile: a small pan asks the same URL,
    // which the browser revalidates (304) for counts.
    var casesUrl = function () {
      var zoom = Math.floor(map.getZoom());
      var step = 360 / Math.pow(2, zoom);
      var b = map.getBounds();
      var snap = function (v, up) { return (up ? Math.ceil(v / step) : Math.floor(v / step)) * step; };
      var box = [Math.max(snap(b.getWest(), false), -180), Math.max(snap(b.getSouth(), false), -90),
        Math.min(snap(b.getEast(), true), 180), Math.min(snap(b.getNorth(), true), 90)];
      return "api/casos.geojson?bbox=" + box.map(function (v) { return +v.toFixed(5); }).join(",") +
        "&zoom=" + zoom;
    };

    var drawPoints = function (data) {
      // Clustered at every zoom (from zoom 15 only markers a few pixels apart), so that cases
      // sharing a point are never drawn one over another.
      // A badge counts cases (a stack of many cases at one point counts them all).
      var cluster = L.markerClusterGroup({
        maxClusterRadius: function (zoom) { return zoom >= 15 ? 6 : 35; },
        zoomToBoundsOnClick: false,
        spiderfyOnMaxZoom: false,
        showCoverageOnHover: false,
        iconCreateFunction: function (c) {
          var n = c.getAllChildMarkers().reduce(function (s, m) { return s + (m.options.cases || 1); }, 0);
          return L.divIcon({ className: "", iconSize: [28, 28],
            html: '<div class="case-cluster" title="' + esc(n + " casos") + '">' + esc(n) + "</div>" });
        }
      });
      var describeCase = function (p) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "casos/" + encodeURIComponent(p.id);
        a.textContent = "Caso " + p.id;
        li.appendChild(a);
        li.appendChild(document.createTextNode(" · " + (caseLabels[p.categoria] || p.categoria) +
          " · prioridad " + p.prioridad + (p.confianza === "baja" ? " · ubicación poco segura" : "")));
        return li;
      };
      // The cases of a stack (many at one point, sent once by the server) as plain objects.
      var columns = data.columnas_pila || [];
      var stackCases = function (p) {
        return p.casos.map(function (row) {
          var c = {};
          columns.forEach(function (name, k) { c[name] = row[k]; });
          return c;
        });
      };
      // A click on a badge: zoom in, or (cases at one point, or the deepest zoom) spiderfy a few
      // markers or list every case, stacks expanded, highest priority first.
      cluster.on("clusterclick", function (e) {
        var group = e.layer, cases = [], stacks = 0;
        if (!samePoint(group) && map.getZoom() < map.getMaxZoom()) {
          group.zoomToBounds({ padding: [20, 20] });
          return;
        }
        group.getAllChildMarkers().forEach(function (m) {
          var p = m.feature.properties;
          if (p.pila) { stacks += 1; cases = cases.concat(stackCases(p)); } else { cases.push(p); }
        });
        if (!stacks && cases.length <= SPIDERFY_MAX) { group.spiderfy(); return; }
        cases.sort(function (a, b) { return b.prioridad - a.prioridad || a.id - b.id; });
        showList(group.getLatLng(), cases, describeCase);
      });
      var counts = { total: 0, baja: 0, modo: "puntos", completo: !!data.completo, pilas: 0 };
      L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
          var p = f.properties;
          if (p.pila) {
            counts.total += p.n;
            counts.baja += p.baja;
            counts.pilas += 1;
            var stack = L.marker(latlng, {
              icon: L.divIcon({ className: "", iconSize: [32, 32],
                html: '<div class="case-cluster case-stack" title="' + esc(p.n + " casos en este mismo punto; clic: la lista") + '">' +
                  esc(p.n.toLocaleString("es-CL")) + "</div>" }),
              title: p.n + " casos en este punto",
              cases: p.n,
              priority: p.casos.length ? p.casos[0][columns.indexOf("prioridad")] : 0
            });
            stack.on("click", function () { showList(latlng, stackCases(p), describeCase); });
            return stack;
          }
          counts.total += 1;
          if (p.confianza === "baja") { counts.baja += 1; }
          return L.marker(latlng, {
            icon: L.divIcon({ className: "", iconSize: [12, 12],
              html: '<div class="case-marker cat-' + esc(p.categoria) + " conf-" + esc(p.confianza) + '"></div>' }),
            title: "Caso " + p.id,
            priority: p.prioridad
          });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          if (p.pila) { cluster.addLayer(layer); return; }
          layer.bindPopup("<b>Caso " + esc(p.id) + "</b>" + (p.sintetico ? ' <span class="badge synthetic">sintético</span>' : "") +
            "<br>" + esc(caseLabels[p.categoria] || p.categoria) + " · prioridad " + esc(p.prioridad) +
            "<br>Ubicación: " + esc(p.metodo) + " (confianza " + esc(p.confianza) + ")" +
            '<br><a href="casos/' + encodeURIComponent(p.id) + '">Abrir ficha</a>');
          cluster.addLayer(layer);
        }
      });
      relabel(data.completo ? "Casos ubicados (" + counts.total + ")"
        : "Casos ubicados (" + counts.total + " en la vista)");
      return { layer: cluster, counts: counts };
    };

    // One badge per H3 cell at the cell's centre (never a home): the count, its categories
    // on hover, a click zooms to the cell.
    var drawGroups = function (data) {
      var group = L.layerGroup();
      var counts = { total: 0, baja: 0, modo: "grupos", celdas: data.features.length,
        sinteticos: data.sinteticos };
      data.features.forEach(function (f) {
        var p = f.properties, box = p.limites;
        counts.total += p.n;
        counts.baja += p.baja;
        var parts = Object.keys(p.por_categoria).map(function (c) {
          return (caseLabels[c] || c) + " " + p.por_categoria[c];
        });
        var title = p.n.toLocaleString("es-CL") + " casos en esta zona" +
          (data.sinteticos === data.total ? " (sintéticos)" : (data.sinteticos ? " (algunos sintéticos)" : "")) + ": " + parts.join(", ") +
          (p.baja ? "; " + p.baja + " con ubicación poco segura" : "") + ". Clic para acercar.";
        var size = p.n < 100 ? 30 : (p.n < 1000 ? 38 : 46);
        var marker = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
          icon: L.divIcon({ className: "", iconSize: [size, size],
            html: '<div class="case-cluster server-cluster size-' + size + '" title="' + esc(title) + '">' +
              esc(p.n.toLocaleString("es-CL")) + "</div>" }),
          keyboard: true
        });
        marker.on("click", function () {
          map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { padding: [20, 20] });
        });
        group.addLayer(marker);
      });
      relabel("Casos ubicados (" + counts.total.toLocaleString("es-CL") + " en la vista, agrupados por zona)");
      return { layer: group, counts: counts };
    };

    var loadCases = function () {
      if (haveAllCases) { return; }
      var url = casesUrl();
      if (url === caseUrlAsked) { return; }  // shown, or on its way
      caseUrlAsked = url;
      var seq = ++caseSeq;
      fetch(url).then(function (response) {
        if (!response.ok) { throw new Error("casos: HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        if (seq !== caseSeq) { return; }  // a later view was asked meanwhile
        var drawn = data.modo === "grupos" ? drawGroups(data) : drawPoints(data);
        caseOverlay.clearLayers();
        caseOverlay.addLayer(drawn.layer);
        haveAllCases = data.modo === "puntos" && !!data.completo;
        state.layers.casos = drawn.layer;
        state.cases = drawn.counts;
        state.casesUrl = url;
      }).catch(function (err) {
        if (seq === caseSeq) { caseUrlAsked = null; }  // ask again on the next move
        state.errors.push(String(err));
      });
    };
    map.on("moveend", function () {
      clearTimeout(caseTimer);
      caseTimer = setTimeout(loadCases, 150);
    });
    if (config.bounds) { loadCases(); } else { comunasP.then(loadCases, loadCases); }  // the first view
  }

  // Legend: collapsible (closed at first on screens where it would cover the territory), and
  // only what this role sees: the mesa gets comuna totals, never case categories.
  var legend = L.control({ position: "bottomleft" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "legend");
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    var cases = config.caseMode === "agregado"
      ? '<div class="legend-cases"><span class="sw aggregate-sample"></span>Casos por comuna: un círculo por comuna ' +
        "(más grande = más casos; clic para el detalle)</div>"
      : '<div class="legend-cases"><span class="sw case-marker cat-critica"></span>Crítica ' +
        '<span class="sw case-marker cat-grave"></span>Grave ' +
        '<span class="sw case-marker cat-reiterada"></span>Reiterada ' +
        '<span class="sw case-marker cat-sin_matricula"></span>Sin matrícula ' +
        '<span class="sw case-marker cat-grave conf-baja"></span>ubicación poco segura</div>' +
        '<div><span class="sw case-cluster legend-count">5</span>casos agrupados (clic: acercar, o la lista ' +
        "si están en un mismo punto)</div>" +
        '<div><span class="sw case-cluster case-stack legend-count">40</span>muchos casos en un mismo punto ' +
        "(p. ej. el de una localidad o su establecimiento; clic: la lista)</div>" +
        '<div><span class="sw case-cluster server-cluster legend-count">9</span>con muchos casos en la vista: ' +
        "casos por zona (marcada en su centro, no en un hogar; clic: acercar)</div>";
    div.innerHTML =
      '<details class="legend-box"' + (window.innerWidth >= 1400 && window.innerHeight >= 1000 ? " open" : "") + ">" +
      "<summary>Leyenda</summary>" +
      '<div><span class="sw school-marker slep rural"></span>SLEP rural ' +
      '<span class="sw school-marker slep urban"></span>SLEP urbano</div>' +
      '<div><span class="sw school-marker other rural"></span>Otra dependencia rural ' +
      '<span class="sw school-marker other urban"></span>urbano ' +
      '<span class="sw school-cluster legend-count">5</span>agrupados</div>' +
      '<div><span class="sw health-marker hospital">H</span>Hospital ' +
      '<span class="sw health-marker cesfam">C</span>CESFAM ' +
      '<span class="sw health-marker cecosf">c</span>CECOSF</div>' +
      '<div><span class="sw health-marker posta">P</span>Posta rural ' +
      '<span class="sw health-marker urgencia">U</span>SAPU/SAR/SUR ' +
      '<span class="sw health-marker health-cluster posta">P×4</span>varios del mismo tipo</div>' +
      cases +
      '<div><span class="line"></span>Barco (con fuente) ' +
      '<span class="line assumed"></span>con valores supuestos</div>' +
      "</details>";
    return div;
  };
  legend.addTo(map);

  // Journey form: the API answers with legs; boat legs are drawn dashed.
  var journeyLayer = L.layerGroup().addTo(map);
  var form = document.getElementById("journey-form");
  var out = document.getElementById("journey-result");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var params = new URLSearchParams(new FormData(form));
      params.set("salida", params.get("salida").replace("T", " "));
      out.textContent = "Calculando…";
      fetch("api/viaje?" + params.toString()).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (res) {
        journeyLayer.clearLayers();
        var b = res.body;
        if (!res.ok) { out.innerHTML = '<p class="error">' + esc(b.error) + "</p>"; return; }
        var html = b.red_aproximada
          ? '<p class="badge">red aproximada: tiempos estimados, no calculados sobre caminos</p>'
          : "";
        if (!b.alcanzable) {
          html += '<p class="error">Sin viaje posible: ' + esc(b.motivo) + "</p>";
        } else {
          html += "<ol class=\"legs\">";
          b.tramos.forEach(function (t) {
            var label = { conducir: "En vehículo", caminar: "A pie", espera: "Espera", barco: "Barco",
              bus: "Bus", colectivo: "Colectivo", tren: "Tren" }[t.tipo] || t.tipo;
            html += "<li><b>" + esc(t.sale.slice(11, 16)) + "–" + esc(t.llega.slice(11, 16)) + "</b> " + esc(label) +
              (t.linea ? " " + esc(t.linea) : "") + ": " + esc(t.desde) +
              (t.tipo === "espera" ? "" : " → " + esc(t.hasta)) +
              " (" + esc(Math.round(t.duracion_s / 60)) + " min)" + (t.supuesto ? " <em>horario supuesto</em>" : "") + "</li>";
            if (t.geometria.length > 1) {
              L.polyline(t.geometria.map(function (c) { return [c[1], c[0]]; }), {
                color: t.tipo === "barco" ? "#0b5cad" : (t.tipo === "bus" || t.tipo === "colectivo" ? "#15803d" : "#c2410c"),
                weight: 4, dashArray: t.tipo === "barco" ? "8 6" : (t.tipo === "caminar" ? "2 6" : null)
              }).addTo(journeyLayer);
            }
          });
          html += "</ol><p>" + (b.modo_etiqueta ? esc(b.modo_etiqueta) + ": " : "") + "llegada " + esc(b.llega.slice(11, 16)) +
            "; total " + esc(Math.round(b.tiempo_s / 60)) + " min.</p>";
          if (journeyLayer.getLayers().length) {
            map.fitBounds(L.featureGroup(journeyLayer.getLayers()).getBounds(), { maxZoom: 12 });
          }
        }
        out.innerHTML = html;
        state.journey = b;
      }).catch(function (err) { out.textContent = "Error: " + err; });
    });
  }

  // Isochrone: the area reachable from "desde" within "minutos" in the chosen mode.
  var isoButton = document.getElementById("isochrone-button");
  if (form && isoButton) {
    isoButton.addEventListener("click", function () {
      var data = new FormData(form);
      var params = new URLSearchParams();
      ["desde", "minutos", "modo"].forEach(function (k) { if (data.get(k)) { params.set(k, data.get(k)); } });
      params.set("salida", String(data.get("salida") || "").replace("T", " "));
      out.textContent = "Calculando el área alcanzable…";
      fetch("api/alcance?" + params.toString()).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (res) {
        journeyLayer.clearLayers();
        var b = res.body;
        if (!res.ok) { out.innerHTML = '<p class="error">' + esc(b.error) + "</p>"; return; }
        var p = b.properties;
        var area = L.geoJSON(b, { style: { color: "#7c3aed", weight: 2, fillOpacity: 0.2 } }).addTo(journeyLayer);
        var html = p.red_aproximada
          ? '<p class="badge">red aproximada: área estimada, no calculada sobre caminos</p>'
          : "";
        html += '<p id="isochrone-summary">' + esc(p.modo_etiqueta) + ": área alcanzable en " + esc(p.minutos) +
          " min desde " + esc(p.desde) + " saliendo " + esc(p.salida.replace("T", " ")) + ".";
        if (p.lineas.length) { html += " Buses y colectivos: " + esc(p.lineas.join(", ")) + "."; }
        if (p.barcos.length) { html += " Barcos: " + esc(p.barcos.join(", ")) + "."; }
        html += "</p>";
        if (p.aviso) { html += '<p class="warn">' + esc(p.aviso) + "</p>"; }
        out.innerHTML = html;
        map.fitBounds(area.getBounds(), { maxZoom: 12 });
        state.isochrone = p;
      }).catch(function (err) { out.textContent = "Error: " + err; });
    });
  }

  Promise.all([comunasP, islasP, schoolsP, healthP, boatsP]).then(function () {
    state.ready = true;
    document.body.setAttribute("data-map-ready", "1");
  }).catch(function (err) {
    state.errors.push(String(err));
    console.error(err);
    var box = L.DomUtil.create("div", "legend");
    box.textContent = "No se pudo cargar una capa del mapa: " + err.message;
    document.getElementById("map").appendChild(box);
  });
})();
