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
  var accuracy = document.getElementById("pin-accuracy");
  function place(latlng) {
    if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
    document.getElementById("pin-lat").value = latlng.lat.toFixed(6);
    document.getElementById("pin-lon").value = latlng.lng.toFixed(6);
  }
  map.on("click", function (e) {
    place(e.latlng);
    if (accuracy) { accuracy.value = ""; }  /* a click is a pin, not a GPS fix */
  });
  /* A GPS fix from the phone: its accuracy goes with the form (a sector is confirmed at ≤ 100 m). */
  var gps = document.getElementById("pin-gps"), status = document.getElementById("pin-gps-status");
  if (gps) {
    gps.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = "Este navegador no da la ubicación GPS."; return; }
      status.textContent = "Buscando la señal GPS…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        var latlng = L.latLng(pos.coords.latitude, pos.coords.longitude);
        place(latlng);
        map.setView(latlng, 15);
        accuracy.value = pos.coords.accuracy.toFixed(0);
        status.textContent = "GPS: precisión ±" + pos.coords.accuracy.toFixed(0) + " m" +
          (pos.coords.accuracy > 100 ? " (insuficiente para confirmar el sector; espere y reintente)" : "") +
          ". Pulse «Guardar» para usarla.";
      }, function (err) {
        status.textContent = "No se obtuvo la ubicación GPS (" + err.message + "): permita la ubicación o haga clic en el mapa.";
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
    });
  }
  window.revincula = { caseMap: map };
})();
