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
  document.querySelectorAll(".stops .stop").forEach(function (li, i) {
    var ll = [parseFloat(li.dataset.lat), parseFloat(li.dataset.lon)];
    points.push(ll);
    L.marker(ll, { icon: L.divIcon({ className: "stop-marker", html: "<span>" + esc(i + 1) + "</span>", iconSize: [22, 22] }) }).addTo(map);
  });
  if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.3)); }
  window.revincula = { dayMap: map, stops: points.length };
})();
