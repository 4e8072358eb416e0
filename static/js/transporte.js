// «Transporte» page: the entered stops on a map; a click on the map adds a stop row to the
// stops table being edited (location source «supuesto (ubicada en el mapa)», to be replaced
// by a real source when there is one).
(function () {
  "use strict";
  // Stop ids and names come from imported feeds or typed tables: into HTML only through esc().
  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }
  var box = document.getElementById("transit-map");
  if (!box) { return; }
  var stops = JSON.parse(document.getElementById("transit-stops").textContent);
  var map = L.map(box, { minZoom: 6, maxZoom: 18 }).setView([-42.5, -73.75], 9);
  fetch(box.dataset.comunasUrl).then(function (r) { return r.json(); }).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#e8f0e0", fillOpacity: 1 } })
      .addTo(map).bringToBack();
  });
  var points = [];
  stops.forEach(function (s) {
    var ll = [s.lat, s.lon];
    points.push(ll);
    L.circleMarker(ll, { radius: 6, color: "#15803d", dashArray: s.supuesto ? "3 3" : null })
      .bindTooltip(esc(s.id) + ": " + esc(s.nombre) + (s.supuesto ? " (ubicación supuesta)" : ""))
      .addTo(map);
  });
  if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.5)); }
  var area = document.querySelector("textarea[name=paradas]");
  var added = 0;
  map.on("click", function (event) {
    if (!area) { return; }
    added += 1;
    var lat = event.latlng.lat.toFixed(5), lon = event.latlng.lng.toFixed(5);
    var text = area.value.replace(/\s+$/, "");
    area.value = text + "\n" + "parada-nueva-" + added + ",Parada nueva " + added + "," + lat + "," +
      lon + ",supuesto (ubicada en el mapa)\n";
    area.closest("details").open = true;
    L.circleMarker([lat, lon], { radius: 6, color: "#c2410c" }).addTo(map)
      .bindTooltip("parada-nueva-" + esc(added) + " (sin guardar)").openTooltip();
  });
  window.revincula = { transitMap: map, stops: points.length };
})();
