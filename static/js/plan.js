/* Plan page: progress while the job runs; then the plan on the map (colour per gestor,
   dash per weekday, boat legs drawn as such). */
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
  // from the timetable file) goes into HTML only through esc().
  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }
  function safeColour(c) { return /^#[0-9a-fA-F]{3,8}$/.test(c || "") ? c : "#1f77b4"; }
  var box = document.getElementById("plan-map");
  if (!box) { return; }
  var map = L.map(box, { minZoom: 6, maxZoom: 18 }).setView([-42.6, -73.75], 8);
  fetch(page.dataset.comunasUrl).then(function (r) { return r.json(); }).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#e8f0e0", fillOpacity: 1 } }).addTo(map).bringToBack();
  });
  var dashes = [null, "8 6", "2 6", null, "8 6", "2 6", null];  // by weekday (Monday = 0)
  function weekday(iso) { return (new Date(iso + "T12:00:00").getDay() + 6) % 7; }
  fetch(page.dataset.geojsonUrl).then(function (r) { return r.json(); }).then(function (data) {
    var layer = L.geoJSON(data, {
      style: function (f) {
        var p = f.properties;
        if (p.tipo === "barco") { return { color: "#0b3d91", weight: 4, dashArray: "1 8", lineCap: "round" }; }
        return { color: safeColour(p.color), weight: 3, opacity: 0.85, dashArray: dashes[weekday(p.dia)] };
      },
      pointToLayer: function (f, latlng) {
        var p = f.properties;
        return L.marker(latlng, { icon: L.divIcon({
          className: "stop-marker", html: '<span style="background:' + safeColour(p.color) + '">' + esc(p.orden) + "</span>",
          iconSize: [22, 22] }) });
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        if (p.tipo === "visita") { l.bindPopup(esc(p.etiqueta) + "<br>" + esc(p.dia) + " " + esc(p.inicia)); }
        else if (p.tipo === "barco") { l.bindPopup("Barco: " + esc(p.linea)); }
      }
    }).addTo(map);
    if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [20, 20] }); }
    window.revincula = { planMap: map, planFeatures: data.features.length };
  });
})();
