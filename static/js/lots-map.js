/* The map of a lot search: points from /lots/map.json (same query), clustered; built when the
   map is first shown. Needs leaflet.js, leaflet.markercluster.js and map.js. */
(function () {
  "use strict";

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  function build(el) {
    var map = window.QaldyqMap.create(el);
    var cluster = L.markerClusterGroup();
    map.addLayer(cluster);
    fetch(el.dataset.url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var bounds = [];
        data.features.forEach(function (f) {
          var p = f.properties, ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          bounds.push(ll);
          cluster.addLayer(L.marker(ll).bindPopup(
            "<div class=\"small\"><div class=\"fw-semibold\">" + esc(p.title) + "</div>" +
            "<div>" + esc(p.code) + " · " + esc(p.quantity) + "</div>" +
            "<div>" + esc(p.mode) + (p.price ? " · " + esc(p.price) : "") + "</div>" +
            "<a href=\"" + esc(p.url) + "\">" + esc(el.dataset.labelOpen) + " →</a></div>"));
        });
        if (bounds.length) { map.fitBounds(bounds, { maxZoom: 9, padding: [30, 30] }); }
        el.dataset.markers = String(bounds.length);
      });
    return map;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("lots-map-box");
    if (!box) { return; }
    var map = null;
    box.addEventListener("shown.bs.collapse", function () {
      if (!map) { map = build(document.getElementById("lots-map")); }
      else { map.invalidateSize(); }
    });
  });
})();
