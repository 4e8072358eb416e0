/* Coverage page: progress while the job runs; then H3 cells coloured by band, services and
   boat lines on our own polygons (no tiles); a click on the map fills the what-if point. */
(function () {
  "use strict";
  var file = document.getElementById("map-file");
  if (file && (file.dataset.state === "en_cola" || file.dataset.state === "calculando")) {
    var pollFile = function () {  // a printable map's job: progress, then the page with its link
      fetch(file.dataset.stateUrl).then(function (r) { return r.json(); }).then(function (s) {
        if (s.estado === "listo" || s.estado === "fallido") { window.location.reload(); return; }
        document.getElementById("map-file-progress").value = s.progreso;
        document.getElementById("map-file-message").textContent = s.mensaje;
        setTimeout(pollFile, 800);
      }).catch(function () { setTimeout(pollFile, 3000); });
    };
    setTimeout(pollFile, 400);
  }
  var page = document.getElementById("coverage");
  if (!page) { return; }
  var state = page.dataset.state;
  if (state === "en_cola" || state === "calculando") {
    var poll = function () {
      fetch(page.dataset.stateUrl).then(function (r) { return r.json(); }).then(function (s) {
        if (s.estado === "listo" || s.estado === "fallido") { window.location.reload(); return; }
        document.getElementById("job-progress").value = s.progreso;
        document.getElementById("job-message").textContent = s.mensaje;
        setTimeout(poll, 800);
      }).catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 400);
    return;
  }
  var box = document.getElementById("coverage-map");
  if (!box) { return; }
  var colours = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#6b6b6b"];
  var bands = [];
  document.querySelectorAll("#legend .swatch[class*='band-']").forEach(function (s) {
    bands.push(s.parentNode.textContent.trim());
  });
  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }
  var map = L.map(box, { minZoom: 6, maxZoom: 16, zoomSnap: 0.5 }).setView([-42.6, -73.75], 8);
  map.attributionControl.setPrefix("Leaflet");
  var ready = { cells: 0, services: 0, boats: 0 };
  window.revincula = { coverageMap: map, ready: ready };
  function get(url) { return fetch(url).then(function (r) { return r.json(); }); }
  get(page.dataset.comunasUrl).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#eef2ea", fillOpacity: 1 },
      interactive: false }).addTo(map).bringToBack();
  });
  get(page.dataset.cellsUrl).then(function (data) {
    var layer = L.geoJSON(data, {
      style: function (f) {
        var i = bands.indexOf(f.properties.banda);
        return { color: "#555", weight: 0.3, fillColor: colours[i < 0 ? 5 : i], fillOpacity: 0.75 };
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindPopup(esc(p.comuna) + " · " + esc(p.isla) + "<br>" +
          (p.minutos === null ? esc(p.motivo || "no se llega hoy") : p.minutos + " min") + " (" + esc(p.banda) + ")" +
          (p.ida_vuelta ? "<br>Ida y vuelta en el día: " + esc(p.ida_vuelta) : "") +
          (p.semana ? "<br>Semana: " + esc(p.semana) : ""));
      }
    }).addTo(map);
    ready.cells = data.features.length;
    if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [10, 10] }); }
  });
  get(page.dataset.boatsUrl).then(function (data) {
    L.geoJSON(data, { style: { color: "#0b3d91", weight: 2, dashArray: "4 5" } }).addTo(map);
    ready.boats = data.features.length;
  });
  get(page.dataset.servicesUrl).then(function (data) {
    L.geoJSON(data, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: f.properties.agregado ? 8 : 5, color: "#fff", weight: 1.5,
          fillColor: f.properties.agregado ? "#7b2cbf" : "#111", fillOpacity: 1 });
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindPopup("<strong>" + esc(p.nombre) + "</strong><br>" + esc(p.ubicacion) + "<br>" + esc(p.horario) +
          "<br><small>" + esc(p.fuente) + "</small>");
      }
    }).addTo(map);
    ready.services = data.features.length;
  });
  var input = document.getElementById("whatif-point");
  var marker = null;
  map.on("click", function (e) {
    if (!input) { return; }
    input.value = e.latlng.lat.toFixed(5) + "," + e.latlng.lng.toFixed(5);
    if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng).addTo(map); }
  });
})();
