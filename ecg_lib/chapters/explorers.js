/* ImageNet Evolution: explorers that compute in the page, with no kernel and no network.
 *
 * One file, two users. The book and the notebooks inline it in every explorer's HTML output (see
 * ecg_lib/chapters/explorers.py), so an explorer works in the static book, in Jupyter and in Colab
 * alike. tests/test_explorers.py loads it in Node (module.exports) and runs `formulas` on a grid of
 * settings against the library's own counts, so the numbers a reader sees are the numbers the
 * library counts.
 *
 * formulas[kind](params, data) -> {output key: number or string}: pure, no DOM. Integers stay exact
 * because every count here is far below 2^53 (the Python side checks the slider maxima).
 * mount(id, kind, data): binds the controls ([data-control]) of the element `id` to the outputs
 * ([data-output]) and recomputes on every input/change event.
 *
 * No top-level const/let: the file runs once per explorer on a page, and redeclaring a top-level
 * `const` throws.
 */
(function (root, factory) {
  var lib = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = lib;
  } else {
    root.ECGExplorers = lib;
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var formulas = {};

  // ---------------------------------------------------------------------------------------------
  // Formulas (the test compares each one with ecg_lib.counting on the library's modules)

  // Simonyan & Zisserman (2015), Sec. 2.3: k stacked 3x3 convolutions (stride 1, padding 1) against
  // one (2k+1)x(2k+1) convolution, C channels in and out, on a side x side map. Weights exclude
  // biases; params include them (one per output channel per layer), as count_params does.
  formulas["vgg-stack"] = function (p) {
    var k = p.k, c = p.channels, s2 = p.side * p.side, big = 2 * k + 1;
    var stackW = 9 * k * c * c, singleW = big * big * c * c;
    return {
      "stack.layers": k, "stack.kernel": 3, "stack.rf": big, "stack.weights": stackW,
      "stack.per_c2": 9 * k, "stack.params": stackW + k * c, "stack.macs": stackW * s2, "stack.relus": k,
      "single.layers": 1, "single.kernel": big, "single.rf": big, "single.weights": singleW,
      "single.per_c2": big * big, "single.params": singleW + c, "single.macs": singleW * s2,
      "single.relus": 1,
      "weight_ratio": stackW / singleW
    };
  };

  // Szegedy et al. (2015), Fig. 2 and Table 1: one Inception module on a C x side x side input.
  // Every convolution has a bias (ecg_lib.models.googlenet.ConvReLU); MACs count convolutions only
  // (max pooling, ReLU and the bias additions are not multiply-accumulates of a weight).
  formulas["inception"] = function (p) {
    var c = p.in_channels, s2 = p.side * p.side, out = {};
    var reduced = {
      "1x1": [c * p.n1x1, p.n1x1],
      "3x3": [c * p.n3x3red + 9 * p.n3x3red * p.n3x3, p.n3x3red + p.n3x3],
      "5x5": [c * p.n5x5red + 25 * p.n5x5red * p.n5x5, p.n5x5red + p.n5x5],
      "pool": [c * p.pool_proj, p.pool_proj]
    };
    // Fig. 2a: the 3x3 and 5x5 convolutions read all C input channels; the pool branch passes its
    // C channels through unprojected.
    var naive = {
      "1x1": [c * p.n1x1, p.n1x1],
      "3x3": [9 * c * p.n3x3, p.n3x3],
      "5x5": [25 * c * p.n5x5, p.n5x5],
      "pool": [0, 0]
    };
    var totals = function (prefix, branches) {
      var w = 0, b = 0;
      Object.keys(branches).forEach(function (name) {
        var wb = branches[name];
        out[prefix + "." + name + ".weights"] = wb[0];
        out[prefix + "." + name + ".params"] = wb[0] + wb[1];
        out[prefix + "." + name + ".macs"] = wb[0] * s2;
        w += wb[0];
        b += wb[1];
      });
      out[prefix + ".total.weights"] = w;
      out[prefix + ".total.params"] = w + b;
      out[prefix + ".total.macs"] = w * s2;
    };
    totals("reduced", reduced);
    totals("naive", naive);
    // The naive module with the pool projection kept: same output width as the real module.
    var projW = out["naive.total.weights"] + c * p.pool_proj;
    out["naive_proj.total.weights"] = projW;
    out["naive_proj.total.params"] = out["naive.total.params"] + c * p.pool_proj + p.pool_proj;
    out["naive_proj.total.macs"] = projW * s2;
    out["reduced.out_channels"] = p.n1x1 + p.n3x3 + p.n5x5 + p.pool_proj;
    out["naive.out_channels"] = p.n1x1 + p.n3x3 + p.n5x5 + c;
    out["share.macs"] = out["reduced.total.macs"] / out["naive.total.macs"];
    out["share.weights"] = out["reduced.total.weights"] / out["naive.total.weights"];
    out["share_proj.macs"] = out["reduced.total.macs"] / out["naive_proj.total.macs"];
    return out;
  };

  // He et al. (2016), Sec. 4.1 and Fig. 5: a bottleneck block (1x1 to w, 3x3 at w, 1x1 back to
  // d = ratio * w) against two 3x3 layers at w and at d. Stride 1 and identity shortcuts; no conv
  // biases; each batch norm has 2 parameters per channel (ecg_lib.models.resnet).
  formulas["resnet-blocks"] = function (p) {
    var w = p.width, d = p.width * p.ratio, s2 = p.side * p.side;
    var blocks = {
      "bottleneck": [2 * d * w + 9 * w * w, 2 * (2 * w + d), d],
      "basic_narrow": [18 * w * w, 4 * w, w],
      "basic_wide": [18 * d * d, 4 * d, d]
    };
    var out = {};
    Object.keys(blocks).forEach(function (name) {
      var b = blocks[name];
      out[name + ".channels"] = b[2];
      out[name + ".weights"] = b[0];
      out[name + ".params"] = b[0] + b[1];
      out[name + ".macs"] = b[0] * s2;
    });
    out["ratio.narrow"] = out["bottleneck.macs"] / out["basic_narrow.macs"];
    out["ratio.wide"] = out["bottleneck.macs"] / out["basic_wide.macs"];
    return out;
  };

  // Krizhevsky et al. (2012), Sec. 3.3: b = a / (k + alpha * sum of a^2 over n maps)^beta. With the
  // same activity a in all n maps, the gain b / a = (k + alpha n a^2)^-beta.
  formulas["lrn"] = function (p) {
    var alpha = Math.pow(10, p.log10_alpha), a = Math.pow(10, p.log10_activity);
    var gain = lrnGain(a, p.k, p.n, alpha, p.beta), flat = Math.pow(p.k, -p.beta);
    return {
      "alpha": alpha, "activity": a, "gain": gain, "output": a * gain, "flat_gain": flat,
      "relative": gain / flat, "onset": Math.sqrt(p.k / (alpha * p.n))
    };
  };

  function lrnGain(a, k, n, alpha, beta) {
    return Math.pow(k + alpha * n * a * a, -beta);
  }

  // A lesion study from precomputed errors. data: {intact, blocks: [{name, error}], combos:
  // [{deleted: [names], error}]}. A set that was measured gives its measured error; any other set
  // gives the sum-of-effects estimate intact + sum(error_i - intact), clipped to [0, 1].
  formulas["lesion"] = function (p, data) {
    var chosen = {};
    (p.deleted || []).forEach(function (name) { chosen[name] = true; });
    var names = data.blocks.map(function (b) { return b.name; }).filter(function (n) { return chosen[n]; });
    var out = {"deleted": names.length};
    var measured = null;
    if (names.length === 0) {
      measured = data.intact;
    } else if (names.length === 1) {
      data.blocks.forEach(function (b) { if (b.name === names[0]) { measured = b.error; } });
    }
    (data.combos || []).forEach(function (combo) {
      var set = combo.deleted.slice().sort().join("\u0000");
      if (set === names.slice().sort().join("\u0000")) { measured = combo.error; }
    });
    if (measured !== null) {
      out.error = measured;
      out.kind = names.length === 0 ? "measured (intact network)" : "measured";
      out.measured = 1;
    } else {
      var est = data.intact;
      data.blocks.forEach(function (b) { if (chosen[b.name]) { est += b.error - data.intact; } });
      var clipped = Math.min(1, Math.max(0, est));
      out.error = clipped;
      out.kind = "estimate: sum of the single-block effects, not measured" +
        (clipped !== est ? " (clipped to [0, 100%])" : "");
      out.measured = 0;
    }
    out.change = out.error - data.intact;
    return out;
  };

  // Training curves: the point of each curve of the chosen profile nearest to the cursor epoch (the
  // first one on a tie). data: {profiles: {profile: {curve: {x: [...], y: [...]}}}}.
  formulas["curves"] = function (p, data) {
    var curves = data.profiles[p.profile] || {}, out = {"cursor": p.epoch};
    Object.keys(curves).forEach(function (name) {
      var c = curves[name], best = -1, gap = Infinity;
      for (var i = 0; i < c.x.length; i++) {
        var g = Math.abs(c.x[i] - p.epoch);
        if (g < gap) { gap = g; best = i; }
      }
      if (best >= 0) {
        out[name + ".epoch"] = c.x[best];
        out[name + ".value"] = c.y[best];
      }
    });
    return out;
  };

  // ---------------------------------------------------------------------------------------------
  // Formatting (text shown in the page; the exact number also goes to data-value)

  function withCommas(v) {
    var s = String(Math.round(Math.abs(v))).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (v < 0 ? "-" : "") + s;
  }

  function compact(v) {
    var units = [["G", 1e9, 2], ["M", 1e6, 1], ["k", 1e3, 1]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) >= units[i][1]) { return (v / units[i][1]).toFixed(units[i][2]) + " " + units[i][0]; }
    }
    return String(v);
  }

  function format(v, how) {
    if (typeof v === "string") { return v; }
    switch (how) {
      case "int": return withCommas(v);
      case "count": return Math.abs(v) >= 1e3 ? withCommas(v) + " (" + compact(v) + ")" : withCommas(v);
      case "pct": return (100 * v).toFixed(1) + "%";
      case "spct": return (v >= 0 ? "+" : "") + (100 * v).toFixed(1) + "%";
      case "ratio": return v.toFixed(3) + "\u00d7";
      case "g4": return v.toPrecision(4);
      default: return String(v);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inline SVG line chart

  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"];
  var BOX = {w: 520, h: 240, left: 56, right: 12, top: 12, bottom: 40};

  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function niceTicks(lo, hi, count) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / count)));
    [1, 2, 5, 10].some(function (m) { if (span / (m * step) <= count) { step *= m; return true; } return false; });
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) { ticks.push(+t.toPrecision(12)); }
    return ticks;
  }

  // opts: {series: [{name, x, y}], xlog, xmin, xmax, ymin, ymax, xlabel, ylabel, yfmt, marker: {x, y},
  // vline: x}. Returns the x <-> pixel mapping, for hover.
  function drawChart(svg, opts) {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var fx = opts.xlog ? Math.log10 : function (v) { return v; };
    var x0 = fx(opts.xmin), x1 = fx(opts.xmax), y0 = opts.ymin, y1 = opts.ymax;
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y1 = y0 + 1; }
    var pw = BOX.w - BOX.left - BOX.right, ph = BOX.h - BOX.top - BOX.bottom;
    var px = function (v) { return BOX.left + (fx(v) - x0) / (x1 - x0) * pw; };
    var py = function (v) { return BOX.top + (1 - (v - y0) / (y1 - y0)) * ph; };
    var axis = {stroke: "currentColor", "stroke-opacity": "0.5", fill: "none"};
    svg.appendChild(el("rect", Object.assign({x: BOX.left, y: BOX.top, width: pw, height: ph}, axis)));
    var xt = opts.xlog ? niceTicks(Math.ceil(x0), Math.floor(x1), 6).filter(function (t) {
      return t === Math.round(t);
    }).map(function (t) { return Math.pow(10, t); }) : niceTicks(opts.xmin, opts.xmax, 6);
    xt.forEach(function (t) {
      var x = px(t);
      svg.appendChild(el("line", Object.assign({x1: x, x2: x, y1: BOX.top + ph, y2: BOX.top + ph + 4}, axis)));
      svg.appendChild(el("text", {x: x, y: BOX.top + ph + 16, "text-anchor": "middle", "font-size": 11,
        fill: "currentColor"}, opts.xlog ? "1e" + Math.round(Math.log10(t)) : String(t)));
    });
    niceTicks(y0, y1, 5).forEach(function (t) {
      var y = py(t);
      svg.appendChild(el("line", Object.assign({x1: BOX.left - 4, x2: BOX.left, y1: y, y2: y}, axis)));
      svg.appendChild(el("text", {x: BOX.left - 6, y: y + 4, "text-anchor": "end", "font-size": 11,
        fill: "currentColor"}, opts.yfmt ? opts.yfmt(t) : String(t)));
    });
    svg.appendChild(el("text", {x: BOX.left + pw / 2, y: BOX.h - 4, "text-anchor": "middle",
      "font-size": 12, fill: "currentColor"}, opts.xlabel || ""));
    svg.appendChild(el("text", {x: 12, y: BOX.top + ph / 2, "text-anchor": "middle", "font-size": 12,
      fill: "currentColor", transform: "rotate(-90 12 " + (BOX.top + ph / 2) + ")"}, opts.ylabel || ""));
    if (opts.vline !== undefined && opts.vline >= opts.xmin && opts.vline <= opts.xmax) {
      svg.appendChild(el("line", {x1: px(opts.vline), x2: px(opts.vline), y1: BOX.top, y2: BOX.top + ph,
        stroke: "currentColor", "stroke-dasharray": "4 3", "stroke-opacity": "0.6"}));
    }
    opts.series.forEach(function (s, i) {
      var pts = [];
      for (var j = 0; j < s.x.length; j++) {
        var y = Math.min(y1, Math.max(y0, s.y[j]));
        pts.push(px(s.x[j]).toFixed(1) + "," + py(y).toFixed(1));
      }
      svg.appendChild(el("polyline", {points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length],
        "stroke-width": 2, "data-series": s.name}));
    });
    (opts.markers || []).forEach(function (m) {
      svg.appendChild(el("circle", {cx: px(m.x), cy: py(Math.min(y1, Math.max(y0, m.y))), r: 4,
        fill: m.color || "currentColor"}));
    });
    return {
      left: BOX.left, width: pw, total: BOX.w,
      xAt: function (frac) { var v = x0 + frac * (x1 - x0); return opts.xlog ? Math.pow(10, v) : v; }
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Per-kind page updates beyond writing [data-output] (charts, tables rebuilt per profile)

  var hooks = {};

  hooks["lrn"] = function (root, p, out) {
    var svg = root.querySelector("svg[data-output-chart]");
    var xs = [], ys = [], lo = -1, hi = 3.5;
    for (var i = 0; i <= 120; i++) {
      var a = Math.pow(10, lo + (hi - lo) * i / 120);
      xs.push(a);
      ys.push(lrnGain(a, p.k, p.n, out.alpha, p.beta));
    }
    drawChart(svg, {series: [{name: "gain", x: xs, y: ys}], xlog: true, xmin: xs[0], xmax: xs[120],
      ymin: 0, ymax: Math.max(1, out.flat_gain) * 1.05, vline: out.onset, xlabel: "activity a of all n maps",
      ylabel: "gain b / a", yfmt: function (t) { return t.toFixed(2); },
      markers: [{x: out.activity, y: out.gain, color: "#d62728"}]});
  };

  hooks["curves"] = function (root, p, out, data) {
    var curves = data.profiles[p.profile] || {}, names = Object.keys(curves);
    var body = root.querySelector("tbody[data-readout]");
    if (body.getAttribute("data-profile") !== p.profile) {
      // New profile: one readout row per curve, and the epoch slider spans this profile's epochs.
      while (body.firstChild) { body.removeChild(body.firstChild); }
      names.forEach(function (name, i) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-curve", name);
        var sw = document.createElement("td");
        sw.innerHTML = "<span class='ecgx-swatch'></span>";
        sw.firstChild.style.background = COLORS[i % COLORS.length];
        sw.appendChild(document.createTextNode(" " + name));
        tr.appendChild(sw);
        ["epoch", "value"].forEach(function (what) {
          var td = document.createElement("td");
          td.setAttribute("data-output", name + "." + what);
          td.setAttribute("data-format", what === "value" ? data.format : "auto");
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      body.setAttribute("data-profile", p.profile);
    }
    var bounds = curveBounds(curves);
    var svg = root.querySelector("svg[data-output-chart]");
    var markers = names.map(function (name, i) {
      return {x: out[name + ".epoch"], y: out[name + ".value"], color: COLORS[i % COLORS.length]};
    }).filter(function (m) { return m.x !== undefined; });
    var scale = drawChart(svg, {series: names.map(function (n) { return {name: n, x: curves[n].x, y: curves[n].y}; }),
      xmin: bounds.xmin, xmax: bounds.xmax, ymin: data.ymin !== null ? data.ymin : bounds.ymin,
      ymax: data.ymax !== null ? data.ymax : bounds.ymax, vline: p.epoch, markers: markers,
      xlabel: data.xlabel, ylabel: data.ylabel,
      yfmt: function (t) { return data.format === "pct" ? (100 * t).toFixed(0) + "%" : String(t); }});
    root.__ecgxScale = scale;
  };

  // Before the controls are read: a new profile sets the epoch slider to that profile's epochs (the
  // browser clamps the slider's value into the new range).
  var before = {};
  before["curves"] = function (root, data) {
    var select = root.querySelector("[data-control='profile']");
    var slider = root.querySelector("[data-control='epoch']");
    if (slider.getAttribute("data-profile") === select.value) { return; }
    var curves = data.profiles[select.value] || {}, b = curveBounds(curves);
    var whole = Object.keys(curves).every(function (n) {
      return curves[n].x.every(function (v) { return v === Math.round(v); });
    });
    slider.min = String(b.xmin);
    slider.max = String(b.xmax);
    slider.step = whole ? "1" : "any";
    slider.setAttribute("data-profile", select.value);
  };

  function curveBounds(curves) {
    var b = {xmin: Infinity, xmax: -Infinity, ymin: Infinity, ymax: -Infinity};
    Object.keys(curves).forEach(function (n) {
      curves[n].x.forEach(function (v) { b.xmin = Math.min(b.xmin, v); b.xmax = Math.max(b.xmax, v); });
      curves[n].y.forEach(function (v) { b.ymin = Math.min(b.ymin, v); b.ymax = Math.max(b.ymax, v); });
    });
    if (b.xmin === Infinity) { return {xmin: 0, xmax: 1, ymin: 0, ymax: 1}; }
    var pad = 0.05 * (b.ymax - b.ymin || 1);  // keep the lines off the frame
    b.ymin -= pad;
    b.ymax += pad;
    return b;
  }

  // ---------------------------------------------------------------------------------------------
  // Binding

  function readControls(root) {
    var p = {};
    root.querySelectorAll("[data-control]").forEach(function (c) {
      var name = c.getAttribute("data-control"), type = c.getAttribute("data-type");
      if (c.type === "checkbox") {
        p[name] = p[name] || [];
        if (c.checked) { p[name].push(c.getAttribute("data-block")); }
      } else {
        p[name] = type === "text" ? c.value : Number(c.value);
      }
    });
    return p;
  }

  function writeOutputs(root, out) {
    root.querySelectorAll("[data-output]").forEach(function (e) {
      var key = e.getAttribute("data-output");
      if (!(key in out)) { return; }
      e.setAttribute("data-value", String(out[key]));
      e.textContent = format(out[key], e.getAttribute("data-format"));
    });
    root.querySelectorAll("[data-echo]").forEach(function (e) {
      var c = root.querySelector("[data-control='" + e.getAttribute("data-echo") + "']");
      var v = Number(c.value), how = e.getAttribute("data-format");
      e.textContent = how === "pow10" ? Math.pow(10, v).toPrecision(3) : c.value;
    });
  }

  function update(root, kind, data) {
    if (before[kind]) { before[kind](root, data); }
    var p = readControls(root);
    var out = formulas[kind](p, data);
    if (hooks[kind]) { hooks[kind](root, p, out, data); }
    writeOutputs(root, out);
    root.setAttribute("data-updates", String(Number(root.getAttribute("data-updates") || 0) + 1));
    return out;
  }

  function mount(id, kind, data) {
    var root = document.getElementById(id);
    if (!root || !formulas[kind]) { return; }
    var run = function () { update(root, kind, data); };
    root.addEventListener("input", run);
    root.addEventListener("change", run);
    var svg = root.querySelector("svg[data-hover]");
    if (svg) {
      // Hover moves the epoch cursor: the slider is set to the epoch under the pointer.
      svg.addEventListener("mousemove", function (ev) {
        var scale = root.__ecgxScale, rect = svg.getBoundingClientRect();
        if (!scale || !rect.width) { return; }
        var frac = ((ev.clientX - rect.left) * scale.total / rect.width - scale.left) / scale.width;
        var slider = root.querySelector("[data-control='" + svg.getAttribute("data-hover") + "']");
        slider.value = String(scale.xAt(Math.min(1, Math.max(0, frac))));
        run();
      });
    }
    root.setAttribute("data-ready", "1");
    run();
  }

  return {version: "1", formulas: formulas, format: format, mount: mount, update: update};
});
