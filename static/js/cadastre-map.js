/* The TMO cadastre on a map: formations (points and outlines) and registry sites from a
   GeoJSON FeatureCollection (/cadastre/map.json, or inline in data-geojson), markers
   clustered by Leaflet.markercluster. Also previews a pasted outline on the point picker.
   Needs leaflet.js, leaflet.markercluster.js and map.js (window.QaldyqMap) loaded first. */
(function () {
  "use strict";

  var COLORS = { formation: "#b4531f", state: "#6f42c1" };

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  function icon(p) {
    var cls = "tmo-marker tmo-marker-" + (p.type === "site" ? "site" : "formation");
    if (p.state_owned) { cls += " tmo-state"; }
    return L.divIcon({ className: cls, iconSize: [14, 14], iconAnchor: [7, 7], popupAnchor: [0, -7] });
  }

  function popup(p, labels) {
    var html = "<div class=\"small\"><div class=\"fw-semibold mb-1\">" + esc(p.name) + "</div>";
    html += "<div>" + esc(p.kind_label) + (p.status_label ? " · " + esc(p.status_label) : "") + "</div>";
    if (p.state_owned) { html += "<div>" + esc(labels.state) + "</div>"; }
    html += "<div class=\"text-body-secondary\">" + esc(p.organization) + " · " + esc(p.region) + "</div>";
    if (p.tonnage_text) { html += "<div>" + esc(p.tonnage_text) + "</div>"; }
    if (p.url) { html += "<a class=\"d-inline-block mt-1\" href=\"" + esc(p.url) + "\">" + esc(labels.open) + " →</a>"; }
    return html + "</div>";
  }

  function outlineStyle(p) {
    var color = p.state_owned ? COLORS.state : COLORS.formation;
    return { color: color, weight: 2, fillColor: color, fillOpacity: 0.25 };
  }

  function geometriesOf(feature) {
    var g = feature.geometry;
    if (!g) { return []; }
    return g.type === "GeometryCollection" ? (g.geometries || []) : [g];
  }

  function labelsOf(el) {
    var d = el.dataset;
    return { formations: d.labelFormations || "TMO", outlines: d.labelOutlines || "Outlines",
             sites: d.labelSites || "Sites", open: d.labelOpen || "Open", state: d.labelState || "",
             error: d.labelError || "Error", empty: d.labelEmpty || "" };
  }

  function notice(el, text, cls) {
    var box = document.createElement("div");
    box.className = "map-status alert py-1 px-2 small mb-0 " + (cls || "alert-light");
    box.setAttribute("role", "status");
    box.textContent = text;
    el.parentNode.appendChild(box);
  }

  function cluster() {
    return L.markerClusterGroup({ maxClusterRadius: 45, showCoverageOnHover: false,
                                  spiderfyOnMaxZoom: true, chunkedLoading: true });
  }

  function draw(el, map, collection) {
    var labels = labelsOf(el);
    var formations = cluster(), sites = cluster(), outlines = L.featureGroup();
    var bounds = L.latLngBounds([]);
    var counts = { formation: 0, site: 0, outline: 0 };
    (collection.features || []).forEach(function (feature) {
      var p = feature.properties || {};
      geometriesOf(feature).forEach(function (g) {
        if (g.type === "Point") {
          var ll = L.latLng(g.coordinates[1], g.coordinates[0]);
          var marker = L.marker(ll, { icon: icon(p), title: p.name, alt: p.name, keyboard: true })
            .bindPopup(popup(p, labels));
          (p.type === "site" ? sites : formations).addLayer(marker);
          counts[p.type === "site" ? "site" : "formation"] += 1;
          bounds.extend(ll);
        } else if (g.type === "Polygon") {
          var shape = L.geoJSON(g, { style: function () { return outlineStyle(p); } })
            .bindPopup(popup(p, labels));
          outlines.addLayer(shape);
          counts.outline += 1;
          bounds.extend(shape.getBounds());
        }
      });
    });
    outlines.addTo(map);
    formations.addTo(map);
    sites.addTo(map);
    var overlays = {};
    overlays[labels.formations] = formations;
    overlays[labels.outlines] = outlines;
    if (counts.site) { overlays[labels.sites] = sites; }
    if (counts.formation + counts.site > 1 || counts.site) {
      L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    }
    if (bounds.isValid()) {
      var single = counts.formation + counts.site <= 1;
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: single ? 13 : 11 });
    } else if (labels.empty) {
      notice(el, labels.empty);
    }
    el.dataset.features = String((collection.features || []).length);
    el.dataset.ready = "1";
  }

  function cadastreMap(el) {
    var map = window.QaldyqMap.create(el);
    L.control.scale({ imperial: false }).addTo(map);
    el.qaldyqMap = map;
    if (el.dataset.geojson) {
      var data;
      try { data = JSON.parse(el.dataset.geojson); } catch (e) { data = null; }
      if (data) { draw(el, map, data); } else { notice(el, labelsOf(el).error, "alert-danger"); }
      return;
    }
    if (!el.dataset.source) { return; }
    fetch(el.dataset.source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) { draw(el, map, data); })
      .catch(function () { notice(el, labelsOf(el).error, "alert-danger"); el.dataset.ready = "error"; });
  }

  /* Area of a GeoJSON polygon on the sphere, in hectares (as market/cadastre/geo.py). */
  function ringArea(ring) {
    var total = 0, r = Math.PI / 180;
    for (var i = 0; i + 1 < ring.length; i++) {
      total += (ring[i + 1][0] - ring[i][0]) * r *
        (2 + Math.sin(ring[i][1] * r) + Math.sin(ring[i + 1][1] * r));
    }
    return Math.abs(total * 6378137 * 6378137 / 2);
  }

  function polygonOf(value) {
    if (!value || typeof value !== "object") { return null; }
    if (value.type === "FeatureCollection" && value.features && value.features.length === 1) { value = value.features[0]; }
    if (value.type === "Feature") { value = value.geometry; }
    return value && value.type === "Polygon" && Array.isArray(value.coordinates) ? value : null;
  }

  function outlinePreview(textarea) {
    var mapEl = document.getElementById(textarea.dataset.outlinePreview);
    var map = mapEl && mapEl.qaldyqMap;
    if (!map) { return; }
    var out = document.getElementById(textarea.dataset.areaTarget);
    var layer = null, timer = null;
    var fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 2 });
    function fit() {
      if (layer && layer.getBounds().isValid()) {
        map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 14 });
      }
    }
    function fitLater() {
      // The picker may still be animating to the typed point: fit once it has finished.
      setTimeout(function () {
        if (map._animatingZoom) { map.once("zoomend", fit); } else { fit(); }
      }, 300);
    }
    function closed(ring) {
      var a = ring[0], b = ring[ring.length - 1];
      return ring.length >= 4 && Array.isArray(a) && Array.isArray(b) && a[0] === b[0] && a[1] === b[1];
    }
    function update(fitNow) {
      if (layer) { map.removeLayer(layer); layer = null; }
      if (out) { out.textContent = ""; }
      var text = textarea.value.trim();
      if (!text) { return; }
      var polygon = null;
      try { polygon = polygonOf(JSON.parse(text)); } catch (e) { polygon = null; }
      if (!polygon || !polygon.coordinates.length || !polygon.coordinates.every(closed)) {
        if (out) { out.textContent = textarea.dataset.invalidText || ""; }
        return;
      }
      try {
        // Not interactive: clicks inside the outline still place the point.
        layer = L.geoJSON(polygon, { interactive: false, style: function () { return outlineStyle({}); } }).addTo(map);
        if (fitNow === "later") { fitLater(); } else if (fitNow) { fit(); }
        var rings = polygon.coordinates, ha = ringArea(rings[0]);
        for (var i = 1; i < rings.length; i++) { ha -= ringArea(rings[i]); }
        if (out && textarea.dataset.areaText) {
          out.textContent = textarea.dataset.areaText.replace("{area}", fmt.format(Math.max(ha, 0) / 10000));
        }
      } catch (e) {
        if (layer) { map.removeLayer(layer); layer = null; }
        if (out) { out.textContent = textarea.dataset.invalidText || ""; }
      }
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { update(true); }, 300);
    });
    update("later");
  }

  document.addEventListener("DOMContentLoaded", function () {
    // map.js has set up the point pickers already (its listener was registered first).
    document.querySelectorAll("[data-cadastre-map]").forEach(cadastreMap);
    document.querySelectorAll("[data-outline-preview]").forEach(outlinePreview);
  });
})();
