// Day map of /terreno: the stops of the published day, over the comuna polygons.
(function () {
  "use strict";
  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }
  document.querySelectorAll("select.autosubmit").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  document.querySelectorAll(".print-button").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
  var box = document.getElementById("day-map");
  if (!box) { return; }
  var map = L.map(box, { minZoom: 6, maxZoom: 18 }).setView([-42.6, -73.75], 9);
  fetch(document.getElementById("terreno").dataset.comunasUrl).then(function (r) { return r.json(); }).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#e8f0e0", fillOpacity: 1 } }).addTo(map).bringToBack();
  });
  var points = [];
  var routeNode = document.getElementById("day-route");
  var route = routeNode ? JSON.parse(routeNode.textContent) : { tramos: [], terminales: [], base: null };
  route.tramos.forEach(function (leg) {
    var boat = leg.tipo === "barco";
    L.polyline(leg.puntos, { color: boat ? "#0b3d91" : "#1f77b4", weight: boat ? 4 : 3, dashArray: boat ? "6 6" : null, opacity: 0.8 })
      .bindTooltip(esc(boat ? "Barco " + leg.linea : (leg.linea || leg.tipo))).addTo(map);
    leg.puntos.forEach(function (p) { points.push(p); });
  });
  route.terminales.forEach(function (t) {
    L.circleMarker(t.punto, { radius: 5, color: "#0b3d91", fillColor: "#fff", fillOpacity: 1, weight: 2 })
      .bindTooltip(esc("⛴ " + t.nombre)).addTo(map);
  });
  if (route.base) {
    L.marker(route.base.punto, { icon: L.divIcon({ className: "base-marker", html: "<span>B</span>", iconSize: [22, 22] }), title: "Base: " + route.base.nombre }).addTo(map);
    points.push(route.base.punto);
  }
  // Stops sharing a point are fanned out a few pixels so that every number stays visible.
  var seen = {};
  var nStops = 0;
  document.querySelectorAll(".stops .stop").forEach(function (li, i) {
    var ll = [parseFloat(li.dataset.lat), parseFloat(li.dataset.lon)];
    var key = ll[0].toFixed(5) + "," + ll[1].toFixed(5);
    var k = seen[key] = (seen[key] || 0) + 1;
    var shift = (k - 1) * 14;
    points.push(ll);
    nStops += 1;
    L.marker(ll, { icon: L.divIcon({ className: "stop-marker", html: "<span>" + esc(i + 1) + "</span>", iconSize: [22, 22], iconAnchor: [11 - shift, 11 + shift / 2] }) }).addTo(map);
  });
  if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.3)); }
  window.revincula = { dayMap: map, stops: nStops };
})();
