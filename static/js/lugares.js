/* Places page: the search's places on the comuna polygons (no tiles), the chosen place's sources,
   and a click that fills the correction form. */
(function () {
  "use strict";
  var box = document.getElementById("places-map");
  if (!box) { return; }
  var map = L.map(box, { minZoom: 6, maxZoom: 17 }).setView([-42.6, -73.75], 8);
  fetch(box.dataset.comunas).then(function (r) { return r.json(); }).then(function (data) {
    L.geoJSON(data, { style: { color: "#6b8e6b", weight: 1, fillColor: "#e8f0e0", fillOpacity: 1 } })
      .addTo(map).bringToBack();
  });
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  function colour(p) {
    if (p.conflicto && !p.confirmado) { return "#b42318"; }
    if (p.equipo) { return "#1971c2"; }
    return "#2b8a3e";
  }
  var selected = null;
  fetch(box.dataset.geojson).then(function (r) { return r.json(); }).then(function (data) {
    var places = [], bounds = [];
    data.features.forEach(function (f) {
      var p = f.properties, ll = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
      if (p.entrada) {
        L.circleMarker(ll, { radius: 5, color: p.fuera ? "#b42318" : "#5f3dc4", weight: 2, fillOpacity: 0.2,
          className: "entry-marker" })
          .bindTooltip(esc(p.ref) + (p.fuera ? " (lejos del resto)" : "") + "<br>" + esc(p.nota)).addTo(map);
        bounds.push(ll);
        return;
      }
      var marker = L.circleMarker(ll, { radius: p.seleccionado ? 9 : 5, color: "#fff", weight: 1,
        fillColor: colour(p), fillOpacity: 0.9, className: "place-marker" });
      var link = location.pathname + "?" + new URLSearchParams(
        Object.assign(Object.fromEntries(new URLSearchParams(location.search)), { lugar: p.id })).toString();
      marker.bindPopup("<b>" + esc(p.nombre) + "</b> (" + esc(p.comuna || "cualquier comuna") + ")<br>" +
        (p.fuentes.length ? "Fuentes: " + esc(p.fuentes.join(", ")) + "<br>" : "") +
        (p.conflicto ? "<span class='warn-text'>Conflicto: " + esc(p.conflicto) + "</span><br>" : "") +
        "<a href='" + esc(link) + "'>Ver y corregir</a>");
      marker.addTo(map);
      places.push(ll);
      if (p.seleccionado) { selected = ll; }
    });
    if (selected) {
      bounds.forEach(function (ll) { L.polyline([selected, ll], { color: "#5f3dc4", weight: 1, dashArray: "3 4" }).addTo(map); });
      map.fitBounds(L.latLngBounds(bounds.concat([selected])).pad(0.4), { maxZoom: 14 });
    } else if (places.length && places.length < 300) {
      map.fitBounds(L.latLngBounds(places).pad(0.2), { maxZoom: 13 });
    }
  });
  var lat = document.getElementById("fix-lat"), lon = document.getElementById("fix-lon"), fix = null;
  if (lat && lon) {
    map.on("click", function (e) {
      if (fix) { fix.setLatLng(e.latlng); } else { fix = L.marker(e.latlng, { title: "Corrección" }).addTo(map); }
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
    });
  }
  window.revincula = { placesMap: map };
})();
