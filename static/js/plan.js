/* Plan page: progress while the job runs; then the plan on the map: one layer per gestor-day
   (colour per gestor, line style per weekday, a legend that filters), stops that share a point
   kept apart, boat legs drawn as such, and the move form's visit picker searchable. */
(function () {
  "use strict";
  var page = document.getElementById("plan");
  if (!page) { return; }
  var state = page.dataset.state;
  if (state === "en_cola" || state === "calculando") {
    var poll = function () {
      fetch(page.dataset.stateUrl).then(function (r) { return r.json(); }).then(function (s) {
        if (s.estado === "listo" || s.estado === "fallido") { window.location.reload(); return; }
        document.getElementById("job-progress").value = s.progreso;
        document.getElementById("job-message").textContent = s.mensaje;
        setTimeout(poll, 1000);
      }).catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 500);
    return;
  }

  // Every value from the data (visit labels carry the imported sector, boat line names come
  // from the timetable file) goes into HTML only through esc() or textContent.
  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }
  function safeColour(c) { return /^#[0-9a-fA-F]{3,8}$/.test(c || "") ? c : "#1f77b4"; }
  function fold(text) {  // case- and accent-insensitive search
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // Move form: a search box filters the visit picker by name, sector, gestor or day.
  var search = document.getElementById("move-search");
  var picker = document.getElementById("move-visit");
  if (search && picker) {
    var count = document.getElementById("move-count");
    search.addEventListener("input", function () {
      var words = fold(search.value).split(/\s+/).filter(Boolean);
      var shown = 0, first = null;
      Array.prototype.forEach.call(picker.options, function (o) {
        var text = fold(o.textContent);
        var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
        o.hidden = !hit;
        o.disabled = !hit;
        if (hit) { shown += 1; if (!first) { first = o; } }
      });
      if (first && picker.selectedOptions[0] && picker.selectedOptions[0].hidden) { first.selected = true; }
      if (count) { count.textContent = shown + " de " + picker.options.length + " visitas"; }
    });
  }

  var box = document.getElementById("plan-map");
  if (!box) { return; }
  var config = JSON.parse(document.getElementById("plan-config").textContent);
  var map = L.map(box, { minZoom: 6, maxZoom: 18 }).setView([-42.6, -73.75], 8);
  fetch(page.dataset.comunasUrl).then(function (r) { return r.json(); }).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#e8f0e0", fillOpacity: 1 },
      interactive: false }).addTo(map).bringToBack();
  });
  // One line style per weekday (Monday = 0), so that two days of one gestor never look alike.
  var DASHES = [null, "12 6", "2 5", "12 4 2 4", "5 9", "1 4", "1 4"];
  var DAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
  var SHORT = ["L", "M", "X", "J", "V", "S", "D"];
  function weekday(iso) { return (new Date(iso + "T12:00:00").getDay() + 6) % 7; }

  // Stops on one point are clustered and fan out on click (Leaflet.markercluster's spiderfy).
  var stops = L.markerClusterGroup ? L.markerClusterGroup({
    maxClusterRadius: 10, spiderfyOnEveryZoom: true, zoomToBoundsOnClick: false,
    showCoverageOnHover: false,
    iconCreateFunction: function (c) {
      return L.divIcon({ className: "stop-marker", iconSize: [24, 24],
        html: '<span class="stop-group" title="' + esc(c.getChildCount() + " paradas en este punto") + '">' +
          esc(c.getChildCount()) + "</span>" });
    }
  }) : L.layerGroup();
  stops.addTo(map);

  fetch(page.dataset.geojsonUrl).then(function (r) { return r.json(); }).then(function (data) {
    var groups = {};  // "gestor|dia" -> {lines: layerGroup, stops: [markers], visits, boat}
    data.features.forEach(function (f) {
      var p = f.properties;
      var key = p.gestor + "|" + p.dia;
      var g = groups[key] = groups[key] || { gestor: p.gestor, dia: p.dia, color: safeColour(p.color),
        lines: L.layerGroup(), stops: [], visits: 0, boat: false };
      var wd = weekday(p.dia);
      if (f.geometry.type === "Point") {
        var m = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
          icon: L.divIcon({ className: "stop-marker", iconSize: [26, 22],
            html: '<span style="background:' + g.color + '">' + esc(SHORT[wd]) + esc(p.orden) + "</span>" }),
          title: (config.gestores[p.gestor] || p.gestor) + " · " + DAYS[wd] + " · parada " + p.orden
        });
        m.feature = f;
        m.bindPopup(esc(p.etiqueta) + "<br>" + esc(config.gestores[p.gestor] || p.gestor) + " · " +
          esc(DAYS[wd]) + " " + esc(p.dia) + " · parada " + esc(p.orden) + ", " + esc(p.inicia));
        g.stops.push(m);
        g.visits += 1;
      } else {
        var boat = p.tipo === "barco";
        var line = L.polyline(f.geometry.coordinates.map(function (c) { return [c[1], c[0]]; }),
          boat ? { color: "#0b3d91", weight: 4, dashArray: "1 8", lineCap: "round" }
               : { color: g.color, weight: 3, opacity: 0.85, dashArray: DASHES[wd] });
        line.feature = f;
        line.bindPopup(boat ? "Barco: " + esc(p.linea) + "<br>" + esc(config.gestores[p.gestor] || p.gestor) +
          " · " + esc(DAYS[wd]) : esc(config.gestores[p.gestor] || p.gestor) + " · " + esc(DAYS[wd]));
        g.lines.addLayer(line);
        if (boat) { g.boat = true; }
      }
    });

    var keys = Object.keys(groups).sort(function (a, b) {
      var ga = groups[a], gb = groups[b];
      return ga.gestor === gb.gestor ? (ga.dia < gb.dia ? -1 : 1) :
        (config.order.indexOf(ga.gestor) - config.order.indexOf(gb.gestor));
    });
    var all = L.featureGroup();
    function show(key, on) {
      var g = groups[key];
      if (on) { g.lines.addTo(map); stops.addLayers(g.stops); }
      else { map.removeLayer(g.lines); stops.removeLayers(g.stops); }
      g.on = on;
      view.visible = keys.filter(function (k) { return groups[k].on; });
    }

    // Legend = filter: one row per gestor-day with its colour and line style.
    var legend = document.getElementById("plan-legend");
    legend.textContent = "";
    var tools = document.createElement("div");
    tools.className = "legend-tools";
    [["Todos", true], ["Ninguno", false]].forEach(function (pair) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = pair[0];
      b.addEventListener("click", function () {
        keys.forEach(function (k) { show(k, pair[1]); groups[k].box.checked = pair[1]; });
      });
      tools.appendChild(b);
    });
    legend.appendChild(tools);
    var list = document.createElement("ul");
    list.className = "day-legend";
    keys.forEach(function (key) {
      var g = groups[key], wd = weekday(g.dia);
      var li = document.createElement("li");
      var label = document.createElement("label");
      var cb = document.createElement("input");
      cb.type = "checkbox";
      cb.checked = true;
      cb.value = key;
      cb.addEventListener("change", function () { show(key, cb.checked); });
      g.box = cb;
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("width", "34");
      svg.setAttribute("height", "10");
      svg.setAttribute("class", "day-sample");
      var ln = document.createElementNS("http://www.w3.org/2000/svg", "line");
      ln.setAttribute("x1", "1"); ln.setAttribute("y1", "5"); ln.setAttribute("x2", "33"); ln.setAttribute("y2", "5");
      ln.setAttribute("stroke", g.color);
      ln.setAttribute("stroke-width", "3");
      if (DASHES[wd]) { ln.setAttribute("stroke-dasharray", DASHES[wd]); }
      svg.appendChild(ln);
      var text = document.createElement("span");
      text.textContent = (config.gestores[g.gestor] || g.gestor) + " · " + DAYS[wd] + " (" + SHORT[wd] + "): " +
        g.visits + (g.visits === 1 ? " visita" : " visitas") + (g.boat ? " · con barco" : "");
      label.appendChild(cb);
      label.appendChild(svg);
      label.appendChild(text);
      li.appendChild(label);
      list.appendChild(li);
      g.lines.eachLayer(function (l) { all.addLayer(l); });
      g.stops.forEach(function (m) { all.addLayer(m); });
      show(key, true);
    });
    legend.appendChild(list);
    var note = document.createElement("p");
    note.className = "legend-note";
    note.textContent = "Color = gestor; trazo = día (continuo lunes, rayas martes, puntos miércoles, " +
      "raya-punto jueves, rayas cortas viernes); número de la parada con la inicial del día; " +
      "un círculo con un número agrupa paradas en un mismo punto (clic para separarlas); " +
      "puntos azules gruesos = tramo en barco. Marque o desmarque para filtrar.";
    legend.appendChild(note);
    if (all.getLayers().length && all.getBounds().isValid()) { map.fitBounds(all.getBounds(), { padding: [20, 20] }); }
    view.planFeatures = data.features.length;
    view.groups = keys.length;
  });
  var view = { planMap: map, planFeatures: 0, stops: stops };
  window.revincula = view;
})();
