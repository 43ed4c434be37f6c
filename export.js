"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const last = D.steps.length - 1;
  const $ = (id) => document.getElementById(id);
  const esc = (s) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);

  // Each step's rows of each pane: the step before's, with the rows the
  // step changed (deltas) put in.
  const rows = D.panes.map(() => []);
  for (let s = 0; s <= last; s++) {
    const st = D.steps[s];
    D.panes.forEach((p, i) => {
      const prev = s > 0 ? rows[i][s - 1] : [];
      let cur = prev;
      const n = st.n && st.n[p.name] !== undefined ? st.n[p.name] : prev.length;
      const d = st.rows && st.rows[p.name];
      if (d || n !== prev.length) {
        cur = prev.slice(0, n);
        while (cur.length < n) cur.push([]);
        for (let j = 0; d && j < d.length; j += 2) cur[d[j]] = d[j + 1];
      }
      rows[i].push(cur);
    });
  }

  const spansHTML = (spans) => {
    let h = "";
    for (let k = 0; k < spans.length; k += 2) h += '<span class="' + D.styles[spans[k]] + '">' + esc(spans[k + 1]) + "</span>";
    return h;
  };

  // The panes.
  const left = $("left");
  const pres = D.panes.map((p) => {
    const sec = document.createElement("section");
    sec.id = "pane-" + p.name;
    sec.innerHTML = "<h2>" + esc(p.title) + "</h2>";
    const pre = document.createElement("pre");
    pre.dataset.pane = p.name;
    sec.appendChild(pre);
    left.appendChild(sec);
    return pre;
  });

  // The timeline.
  const sel = $("series");
  D.series.forEach((s, i) => {
    const o = document.createElement("option");
    o.value = i;
    o.textContent = s.name;
    sel.appendChild(o);
  });
  const fmt = (s, v) => {
    if (s.unit === "thousandths") return (v < 0 ? "-" : "") + Math.floor(Math.abs(v) / 1000) + "." + String(Math.abs(v) % 1000).padStart(3, "0");
    if (s.unit === "pages") return v + (v === 1 ? " page" : " pages");
    const units = ["B", "K", "M", "G"];
    let u = 0, x = v;
    while (Math.abs(x) >= 1024 && u < units.length - 1) { x /= 1024; u++; }
    return (u ? +x.toPrecision(4) : x) + units[u];
  };
  const W = 600, H = 90, top = 14, bottom = 80;
  const xOf = (s) => (last ? (s / last) * (W - 2) : 0) + 1;
  function drawChart(step) {
    const s = D.series[sel.value];
    if (!s) return;
    const lo = Math.min(...s.values), hi = Math.max(...s.values);
    const yOf = (v) => (hi === lo ? (top + bottom) / 2 : bottom - ((v - lo) / (hi - lo)) * (bottom - top));
    let pts = "";
    s.values.forEach((v, i) => { pts += xOf(i).toFixed(1) + "," + yOf(v).toFixed(1) + " "; });
    $("chart").innerHTML =
      '<polyline class="line" points="' + pts + '"/>' +
      '<line class="now" x1="' + xOf(step) + '" x2="' + xOf(step) + '" y1="0" y2="' + H + '"/>' +
      '<text class="axis" x="2" y="10">' + esc(fmt(s, hi)) + "</text>" +
      '<text class="axis" x="2" y="' + (H - 1) + '">' + esc(fmt(s, lo)) + "</text>";
    $("seriesvalue").textContent = "step " + step + ": " + fmt(s, s.values[step]);
  }
  $("chart").addEventListener("click", (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    go(Math.round(((e.clientX - r.left) / r.width) * last));
  });
  sel.addEventListener("change", () => drawChart(cur));
  $("jump").addEventListener("click", () => go(D.series[sel.value].jump));

  // The event log: each step's headline and why lines, up to the step.
  function logHTML(step) {
    let h = "";
    for (let s = Math.max(0, step - 200); s <= step; s++) {
      const st = D.steps[s];
      h += '<div class="' + (s === step ? "cur" : "") + '" data-step="' + s + '"><span class="head">step ' + s + (st.src ? " · " + esc(st.src) : "") + "</span> " + esc(st.op) + "\n" + whyHTML(st) + "</div>";
    }
    return h;
  }
  const whyHTML = (st) => {
    let h = "";
    for (let k = 0; k < st.why.length; k += 2) h += '<span class="' + D.whyStyles[st.why[k]] + '">  ' + esc(st.why[k + 1]) + "</span>\n";
    return h;
  };

  let cur = -1;
  function go(step) {
    step = Math.max(0, Math.min(last, step | 0));
    if (step === cur) return;
    cur = step;
    const st = D.steps[step];
    pres.forEach((pre, i) => { pre.innerHTML = rows[i][step].map(spansHTML).join("\n"); });
    $("stepinfo").textContent = "step " + step + " of " + last + (st.src ? " · " + st.src : "") + " · " + st.op;
    $("say").textContent = (st.say || []).join("\n");
    $("why").innerHTML = whyHTML(st);
    const log = $("logbody");
    log.innerHTML = logHTML(step);
    $("log").scrollTop = $("log").scrollHeight;
    $("slider").value = step;
    drawChart(step);
    document.body.dataset.step = step;
    if (location.hash !== "#step=" + step) history.replaceState(null, "", "#step=" + step);
  }

  $("slider").max = last;
  $("slider").addEventListener("input", (e) => go(+e.target.value));
  $("prev").addEventListener("click", () => go(cur - 1));
  $("next").addEventListener("click", () => go(cur + 1));
  $("palette").addEventListener("change", (e) => { document.body.className = "pal-" + e.target.value; });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLSelectElement || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target.id === "slider" && e.key.startsWith("Arrow")) return; // the slider moves itself
    switch (e.key) {
      case "n": case "ArrowRight": case "l": go(cur + 1); break;
      case "p": case "ArrowLeft": case "h": go(cur - 1); break;
      case "Home": go(0); break;
      case "End": go(last); break;
      case "j": go(D.series[sel.value].jump); break;
      default: return;
    }
    e.preventDefault();
  });
  const m = /^#step=(\d+)$/.exec(location.hash);
  go(m ? +m[1] : 0);
})();
