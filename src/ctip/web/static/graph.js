// CTIP network graph on a <canvas>: positions come from the server (igraph layout), so the
// browser only draws. Pan (drag, arrow keys), zoom (wheel, + and -), hover and select stay
// smooth with thousands of nodes: one path per node kind, a grid index for hit tests, and
// redraws only when something changed.
"use strict";

(function () {
  const box = document.querySelector(".graph[data-graph-src]");
  if (!box) { return; }
  const canvas = box.querySelector("canvas");
  const status = box.querySelector(".graph-status");
  const legend = box.querySelector(".graph-legend");
  const info = box.querySelector(".graph-info");
  const find = box.querySelector('[data-graph="find"]');
  const context = canvas.getContext("2d");
  const COLOURS = {
    ad: "#1f4e79", phone: "#d9822b", email: "#2e8b57", handle: "#8e44ad",
    wallet: "#b7950b", image: "#6b7780", cluster: "#16a085"
  };
  const tip = document.createElement("div");
  tip.className = "graph-tip";
  tip.hidden = true;
  box.appendChild(tip);

  const state = {
    n: 0, xs: null, ys: null, kind: null, labels: [], networks: [], kinds: [],
    flagged: new Set(), offsets: null, neighbours: null, edges: null,
    scale: 1, tx: 0, ty: 0, hover: -1, selected: -1, dirty: true,
    grid: null, cells: 64, frames: []
  };
  let width = 0, height = 0, ratio = 1;

  function resize() {
    ratio = window.devicePixelRatio || 1;
    width = canvas.clientWidth; height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    state.dirty = true;
  }

  function fit() { state.scale = 1; state.tx = 0; state.ty = 0; state.dirty = true; }
  const margin = 24;
  function sx(i) { return (margin + state.xs[i] * (width - 2 * margin)) * state.scale + state.tx; }
  function sy(i) { return (margin + state.ys[i] * (height - 2 * margin)) * state.scale + state.ty; }

  function radius() { return Math.max(1.5, Math.min(6, 2.2 * Math.sqrt(state.scale))); }

  function draw() {
    const started = performance.now();
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const edges = state.edges;
    context.lineWidth = 0.6;
    context.strokeStyle = state.selected >= 0 ? "rgba(120,130,140,0.12)" : "rgba(120,130,140,0.35)";
    context.beginPath();
    for (let e = 0; e < edges.length; e += 2) {
      const a = edges[e], b = edges[e + 1];
      context.moveTo(sx(a), sy(a)); context.lineTo(sx(b), sy(b));
    }
    context.stroke();
    if (state.selected >= 0) {
      const s = state.selected;
      context.strokeStyle = "#111"; context.lineWidth = 1.4;
      context.beginPath();
      for (let k = state.offsets[s]; k < state.offsets[s + 1]; k++) {
        const t = state.neighbours[k];
        context.moveTo(sx(s), sy(s)); context.lineTo(sx(t), sy(t));
      }
      context.stroke();
    }
    const r = radius();
    for (let kind = 0; kind < state.kinds.length; kind++) {
      context.fillStyle = COLOURS[state.kinds[kind]] || "#444";
      context.beginPath();
      for (let i = 0; i < state.n; i++) {
        if (state.kind[i] !== kind) { continue; }
        const x = sx(i), y = sy(i);
        if (x < -r || y < -r || x > width + r || y > height + r) { continue; }
        context.moveTo(x + r, y); context.arc(x, y, r, 0, 6.2832);
      }
      context.fill();
    }
    context.strokeStyle = "#a4161a"; context.lineWidth = 1.2;
    context.beginPath();
    state.flagged.forEach(function (i) { context.moveTo(sx(i) + r + 1.5, sy(i)); context.arc(sx(i), sy(i), r + 1.5, 0, 6.2832); });
    context.stroke();
    [state.hover, state.selected].forEach(function (i, n) {
      if (i < 0) { return; }
      context.strokeStyle = n ? "#000" : "#ffbf47"; context.lineWidth = 3;
      context.beginPath(); context.arc(sx(i), sy(i), r + 3, 0, 6.2832); context.stroke();
    });
    const spent = performance.now() - started;
    state.frames.push(spent);
    if (state.frames.length > 600) { state.frames.shift(); }
    return spent;
  }

  function frame() {
    if (state.dirty && state.xs) { state.dirty = false; draw(); }
    window.requestAnimationFrame(frame);
  }

  function buildIndex() {
    const cells = state.cells, grid = new Map();
    for (let i = 0; i < state.n; i++) {
      const key = Math.min(cells - 1, Math.floor(state.xs[i] * cells)) * cells + Math.min(cells - 1, Math.floor(state.ys[i] * cells));
      if (!grid.has(key)) { grid.set(key, []); }
      grid.get(key).push(i);
    }
    state.grid = grid;
  }

  function nodeAt(px, py) {
    // screen -> layout coordinates, then search the grid cells around the point
    const span = (width - 2 * margin) * state.scale, spanY = (height - 2 * margin) * state.scale;
    const lx = ((px - state.tx) / state.scale - margin) / (width - 2 * margin);
    const ly = ((py - state.ty) / state.scale - margin) / (height - 2 * margin);
    const reach = (radius() + 4) / Math.min(span, spanY);
    const cells = state.cells;
    const c0 = Math.floor((lx - reach) * cells), c1 = Math.floor((lx + reach) * cells);
    const r0 = Math.floor((ly - reach) * cells), r1 = Math.floor((ly + reach) * cells);
    let best = -1, bestDistance = Infinity;
    for (let c = Math.max(0, c0); c <= Math.min(cells - 1, c1); c++) {
      for (let r = Math.max(0, r0); r <= Math.min(cells - 1, r1); r++) {
        const members = state.grid.get(c * cells + r);
        if (!members) { continue; }
        for (const i of members) {
          const d = (sx(i) - px) ** 2 + (sy(i) - py) ** 2;
          if (d < bestDistance) { bestDistance = d; best = i; }
        }
      }
    }
    return bestDistance <= (radius() + 4) ** 2 ? best : -1;
  }

  function zoom(factor, cx, cy) {
    const x = cx === undefined ? width / 2 : cx, y = cy === undefined ? height / 2 : cy;
    const next = Math.max(0.3, Math.min(80, state.scale * factor));
    const applied = next / state.scale;
    state.tx = x - (x - state.tx) * applied; state.ty = y - (y - state.ty) * applied;
    state.scale = next; state.dirty = true;
  }
  function pan(dx, dy) { state.tx += dx; state.ty += dy; state.dirty = true; }

  function describe(i) {
    if (i < 0) { info.textContent = ""; return; }
    const list = document.createElement("ul");
    const count = state.offsets[i + 1] - state.offsets[i];
    for (let k = state.offsets[i]; k < state.offsets[i + 1] && k < state.offsets[i] + 200; k++) {
      const item = document.createElement("li");
      item.textContent = state.labels[state.neighbours[k]];
      list.appendChild(item);
    }
    info.textContent = "";
    const head = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = state.labels[i];
    head.appendChild(strong);
    head.appendChild(document.createTextNode(" — linked to " + count + ":"));
    info.appendChild(head);
    info.appendChild(list);
    const network = state.networks[i];
    if (network && !box.getAttribute("data-graph-src").includes("network=")) {
      const link = document.createElement("a");
      link.href = "/ads/networks?network=" + encodeURIComponent(network);
      link.textContent = "Open network " + network;
      info.appendChild(link);
    }
  }

  function select(i, centre) {
    state.selected = i; state.dirty = true; describe(i);
    if (centre && i >= 0) { pan(width / 2 - sx(i), height / 2 - sy(i)); }
  }

  function wire() {
    let dragging = false, moved = false, lastX = 0, lastY = 0;
    canvas.addEventListener("pointerdown", function (event) {
      dragging = true; moved = false; lastX = event.offsetX; lastY = event.offsetY;
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (dragging) {
        const dx = event.offsetX - lastX, dy = event.offsetY - lastY;
        if (Math.abs(dx) + Math.abs(dy) > 2) { moved = true; }
        pan(dx, dy); lastX = event.offsetX; lastY = event.offsetY; return;
      }
      const i = nodeAt(event.offsetX, event.offsetY);
      if (i !== state.hover) {
        state.hover = i; state.dirty = true;
        tip.hidden = i < 0;
        if (i >= 0) { tip.textContent = state.labels[i]; }
      }
      if (i >= 0) { tip.style.left = (event.offsetX + 14) + "px"; tip.style.top = (event.offsetY + canvas.offsetTop + 10) + "px"; }
    });
    canvas.addEventListener("pointerup", function (event) {
      dragging = false;
      if (!moved) { select(nodeAt(event.offsetX, event.offsetY), false); }
    });
    canvas.addEventListener("pointerleave", function () { state.hover = -1; tip.hidden = true; state.dirty = true; });
    canvas.addEventListener("wheel", function (event) {
      event.preventDefault();
      zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, event.offsetX, event.offsetY);
    }, { passive: false });
    canvas.addEventListener("keydown", function (event) {
      const step = 40;
      const actions = {
        ArrowLeft: function () { pan(step, 0); }, ArrowRight: function () { pan(-step, 0); },
        ArrowUp: function () { pan(0, step); }, ArrowDown: function () { pan(0, -step); },
        "+": function () { zoom(1.25); }, "=": function () { zoom(1.25); }, "-": function () { zoom(0.8); },
        "0": fit, Escape: function () { select(-1, false); }
      };
      if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
    });
    box.querySelector('[data-graph="zoom-in"]').addEventListener("click", function () { zoom(1.25); });
    box.querySelector('[data-graph="zoom-out"]').addEventListener("click", function () { zoom(0.8); });
    box.querySelector('[data-graph="reset"]').addEventListener("click", fit);
    find.addEventListener("change", function () {
      const text = find.value.trim().toLowerCase();
      if (!text) { return; }
      const found = state.labels.findIndex(function (label) { return label.toLowerCase().includes(text); });
      status.textContent = found < 0 ? "nothing matches “" + find.value + "”" : "found: " + state.labels[found];
      if (found >= 0) { select(found, true); }
    });
    window.addEventListener("resize", resize);
  }

  function load(data) {
    const n = data.x.length;
    state.n = n;
    state.xs = Float32Array.from(data.x); state.ys = Float32Array.from(data.y);
    state.kind = Uint8Array.from(data.kind);
    state.labels = data.label; state.networks = data.network; state.kinds = data.kinds;
    state.flagged = new Set(data.flagged);
    state.edges = Uint32Array.from(data.edges);
    const degree = new Uint32Array(n + 1);
    for (let e = 0; e < state.edges.length; e++) { degree[state.edges[e] + 1]++; }
    for (let i = 0; i < n; i++) { degree[i + 1] += degree[i]; }
    const fill = degree.slice(0, n), neighbours = new Uint32Array(state.edges.length);
    for (let e = 0; e < state.edges.length; e += 2) {
      const a = state.edges[e], b = state.edges[e + 1];
      neighbours[fill[a]++] = b; neighbours[fill[b]++] = a;
    }
    state.offsets = degree; state.neighbours = neighbours;
    buildIndex();
    const counts = {};
    for (let i = 0; i < n; i++) { counts[state.kinds[state.kind[i]]] = (counts[state.kinds[state.kind[i]]] || 0) + 1; }
    legend.textContent = "";
    Object.keys(counts).forEach(function (kind) {
      const item = document.createElement("span");
      const dot = document.createElement("i");
      dot.style.background = COLOURS[kind] || "#444";
      item.appendChild(dot);
      item.appendChild(document.createTextNode(kind + " " + counts[kind].toLocaleString()));
      legend.appendChild(item);
    });
    status.textContent = n.toLocaleString() + " nodes, " + (state.edges.length / 2).toLocaleString() + " links; red rings: ads scoring 0.5 or more";
    resize(); wire();
    window.requestAnimationFrame(frame);
    window.ctipGraph = {
      nodes: n, edges: state.edges.length / 2, frames: state.frames,
      draw: draw, zoom: zoom, pan: pan, select: select, nodeAt: nodeAt,
      position: function (i) { return [sx(i), sy(i)]; },
      readyAt: performance.now()
    };
    box.setAttribute("data-ready", "true");
  }

  fetch(box.getAttribute("data-graph-src"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(load)
    .catch(function (error) {
      status.textContent = "The graph could not be loaded (" + error.message + "); the tables below hold the same information. Reload to try again.";
    });
})();
