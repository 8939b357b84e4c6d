/* Qaldyq maps: Leaflet, vendored (no third-party hosts). Tiles come from a configurable URL; with no tile
   server the map still works: region centres are drawn as reference points. */
(function () {
  "use strict";

  function createMap(el, opts) {
    opts = opts || {};
    var map = L.map(el, { maxZoom: 18, minZoom: 3, worldCopyJump: true });
    if (opts.center) { map.setView(opts.center, opts.zoom || 8); }
    else { map.fitBounds([[40.6, 46.5], [55.4, 87.3]]); }  /* the whole of Kazakhstan */
    var tileUrl = el.dataset.tileUrl;
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 18, attribution: el.dataset.tileAttribution || "" }).addTo(map);
    } else {
      el.classList.add("map-no-tiles");
    }
    var regions = [];
    try { regions = JSON.parse(el.dataset.regions || "[]"); } catch (e) { regions = []; }
    regions.forEach(function (r) {
      L.circleMarker([r.lat, r.lon], { radius: 3, color: "#6c757d", weight: 1, fillOpacity: 0.6 })
        .bindTooltip(r.name, { permanent: !tileUrl, direction: "right", className: "region-label" })
        .addTo(map);
    });
    return map;
  }

  function pointPicker(el) {
    var latInput = document.getElementById(el.dataset.latInput);
    var lonInput = document.getElementById(el.dataset.lonInput);
    var map = createMap(el);
    var marker = null;
    function place(lat, lon, pan) {
      if (marker) { marker.setLatLng([lat, lon]); }
      else { marker = L.marker([lat, lon], { draggable: true }).addTo(map);
             marker.on("dragend", function () { var p = marker.getLatLng(); write(p.lat, p.lng); }); }
      if (pan) { map.setView([lat, lon], Math.max(map.getZoom(), 8)); }
    }
    function write(lat, lon) {
      latInput.value = lat.toFixed(5);
      lonInput.value = lon.toFixed(5);
    }
    map.on("click", function (e) { write(e.latlng.lat, e.latlng.lng); place(e.latlng.lat, e.latlng.lng, false); });
    function fromInputs() {
      var lat = parseFloat(latInput.value), lon = parseFloat(lonInput.value);
      if (!isNaN(lat) && !isNaN(lon)) { place(lat, lon, true); }
    }
    latInput.addEventListener("change", fromInputs);
    lonInput.addEventListener("change", fromInputs);
    fromInputs();
    el.qaldyqMap = map;
  }

  window.QaldyqMap = { create: createMap };
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-map=picker]").forEach(pointPicker);
  });
})();
