/* Case detail: the case's pin on a small map; a click moves it into the form. */
(function () {
  "use strict";
  var box = document.getElementById("case-map");
  if (!box) { return; }
  var lat = parseFloat(box.dataset.lat), lon = parseFloat(box.dataset.lon);
  var has = !isNaN(lat) && !isNaN(lon);
  var map = L.map(box, { minZoom: 6, maxZoom: 18 }).setView(has ? [lat, lon] : [-42.6, -73.75], has ? 12 : 8);
  fetch("../api/capas/comunas.geojson").then(function (r) { return r.json(); }).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#e8f0e0", fillOpacity: 1 } }).addTo(map).bringToBack();
  });
  var marker = has ? L.marker([lat, lon]).addTo(map) : null;
  map.on("click", function (e) {
    if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng).addTo(map); }
    document.getElementById("pin-lat").value = e.latlng.lat.toFixed(6);
    document.getElementById("pin-lon").value = e.latlng.lng.toFixed(6);
  });
  window.revincula = { caseMap: map };
})();
