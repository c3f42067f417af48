/* yuqing dashboard: loads each page's data from the JSON API and draws it.
 *
 * Crawled text is untrusted, so data only ever enters the page through textContent and
 * element properties (never innerHTML), and links are kept only when they are http(s).
 */
"use strict";

(function () {
  const SENTIMENTS = ["negative", "neutral", "positive", "unscored"];
  // The browser test looks for the negative colour in its screenshot: keep them in step.
  const COLORS = { negative: "#d9485f", neutral: "#8c9bab", positive: "#2f9e6e", unscored: "#d6dbe1" };
  const SENTIMENT_NAMES = { negative: "负面", neutral: "中性", positive: "正面", unscored: "未评分" };
  const SEVERITY_NAMES = { info: "关注", warning: "预警", critical: "危机" };
  const STATUS_NAMES = { open: "未处理", acknowledged: "已确认", resolved: "已解决" };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function badge(text, kind) {
    return el("span", text, "badge " + (kind || ""));
  }

  function cell(row, content, className) {
    const td = el("td", null, className);
    if (content instanceof Node) td.append(content);
    else td.textContent = content === undefined || content === null ? "" : String(content);
    row.append(td);
    return td;
  }

  // "2026-11-20T08:00:00+08:00" -> "2026-11-20 08:00": the API already speaks the config's zone.
  function when(iso) {
    return iso ? String(iso).slice(0, 16).replace("T", " ") : "-";
  }

  function setStatus(text, isError) {
    const node = document.getElementById("status");
    if (!node) return;
    node.textContent = text;
    node.className = isError ? "error" : "muted";
  }

  function errorText(data, response) {
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) {
      return data.detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
    }
    return response.status + " " + response.statusText;
  }

  async function api(path, options) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (options && options.body !== undefined) {
      init.method = options.method || "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/login");
      throw new Error("请重新登录");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(errorText(data, response));
    return data;
  }

  // The filled-in fields of a form as query parameters (blanks left out).
  function formQuery(form) {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      const text = String(value).trim();
      if (text !== "") params.set(key, text);
    }
    return params;
  }

  function fillForm(form, params) {
    for (const [key, value] of params) {
      const field = form.elements.namedItem(key);
      if (field && "value" in field) field.value = value;
    }
  }

  function safeHref(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  /* Overview: one stacked bar chart of mentions by sentiment per topic. */
  async function overviewPage() {
    const form = document.getElementById("overview-form");
    const container = document.getElementById("charts");
    const charts = [];
    window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

    async function load() {
      setStatus("加载中…");
      document.body.dataset.chartsReady = "";
      const data = await api("/api/overview?" + formQuery(form));
      charts.splice(0).forEach((c) => c.dispose());
      container.replaceChildren();
      const labels = data.buckets.map((b) => (data.bucket === "day" ? b.slice(5, 10) : when(b).slice(5)));
      for (const topic of data.topics) {
        const card = el("section", null, "card");
        card.dataset.topic = topic.topic;
        const title = el("h2", topic.topic);
        if (topic.live_incident) {
          const inc = topic.live_incident;
          title.append(" ", badge(SEVERITY_NAMES[inc.severity] || inc.severity, inc.severity));
        }
        const share = topic.total ? Math.round((100 * topic.negative) / topic.total) : 0;
        const summary = el("p", `共 ${topic.total} 条 · 负面 ${topic.negative} 条（${share}%）`, "muted");
        const chartBox = el("div", null, "chart");
        card.append(title, summary, chartBox);
        container.append(card);
        const chart = echarts.init(chartBox, null, { renderer: "canvas" });
        chart.setOption({
          animation: false, // drawn at once: screenshots and slow machines see the final chart
          // richText tooltips are drawn on the canvas, so no HTML is ever built from data.
          tooltip: { trigger: "axis", renderMode: "richText" },
          legend: { data: SENTIMENTS.map((s) => SENTIMENT_NAMES[s]), top: 0 },
          grid: { left: 40, right: 16, top: 32, bottom: 28 },
          xAxis: { type: "category", data: labels },
          yAxis: { type: "value", minInterval: 1 },
          series: SENTIMENTS.map((s) => ({
            name: SENTIMENT_NAMES[s],
            type: "bar",
            stack: "volume",
            data: topic.series[s],
            itemStyle: { color: COLORS[s] },
          })),
        });
        charts.push(chart);
      }
      if (!data.topics.length) setStatus("配置中没有话题（topics）。");
      else setStatus(`${when(data.since)} 至 ${when(data.until)}（${data.timezone}）`);
      document.body.dataset.chartsReady = String(charts.length);
    }

    form.addEventListener("change", () => load().catch((e) => setStatus(e.message, true)));
    await load();
  }

  /* Mentions: the filters of `yuqing mentions`, a result table and export links. */
  async function mentionsPage() {
    const form = document.getElementById("mention-form");
    const body = document.querySelector("#results tbody");
    fillForm(form, new URLSearchParams(window.location.search));

    function updateExports(params) {
      const forExport = new URLSearchParams(params);
      forExport.delete("limit"); // an export holds every match
      for (const format of ["csv", "xlsx", "jsonl"]) {
        forExport.set("format", format);
        document.getElementById("export-" + format).href = "/api/export?" + forExport;
      }
    }

    function row(m) {
      const tr = el("tr");
      cell(tr, when(m.published_at), "when");
      cell(tr, m.platform);
      cell(tr, (m.topics || []).join("，"));
      cell(tr, m.author_name || m.author_id || "-");
      const score = m.sentiment_score === null ? "" : " " + Number(m.sentiment_score).toFixed(2);
      cell(tr, badge((SENTIMENT_NAMES[m.sentiment_label] || "-") + score, m.sentiment_label || ""));
      cell(tr, m.cause || "");
      cell(tr, `${m.reposts}/${m.comments}/${m.likes}`, "num");
      const text = cell(tr, null, "text");
      if (m.title) text.append(el("strong", m.title), el("br"));
      text.append(document.createTextNode(m.text || ""));
      const href = safeHref(m.url);
      if (href) {
        const link = el("a", "原文");
        link.href = href;
        link.rel = "noopener noreferrer";
        link.target = "_blank";
        text.append(" ", link);
      }
      return tr;
    }

    async function load() {
      const params = formQuery(form);
      history.replaceState(null, "", "?" + params);
      updateExports(params);
      setStatus("查询中…");
      const data = await api("/api/mentions?" + params);
      body.replaceChildren(...data.mentions.map(row));
      setStatus(`${data.count} 条` + (data.count === data.limit ? `（最多显示 ${data.limit} 条）` : ""));
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      load().catch((e) => setStatus(e.message, true));
    });
    await load();
  }

  /* Incidents: list, detail with notes and evidence, ack / note / resolve. */
  async function incidentsPage() {
    const form = document.getElementById("incident-form");
    const body = document.querySelector("#incidents tbody");
    const author = document.getElementById("author");
    const noteText = document.getElementById("note-text");
    let current = null;
    author.value = localStorage.getItem("yuqing-author") || "";
    author.addEventListener("change", () => localStorage.setItem("yuqing-author", author.value.trim()));

    function showDetail(incident) {
      current = incident.id;
      const detail = document.getElementById("detail");
      detail.hidden = false;
      document.getElementById("detail-title").textContent = `#${incident.id} ${incident.topic}`;
      const fields = document.getElementById("detail-fields");
      fields.replaceChildren();
      const items = [
        ["级别", SEVERITY_NAMES[incident.severity] || incident.severity],
        ["状态", STATUS_NAMES[incident.status] || incident.status],
        ["规则", incident.rule],
        ["开始", when(incident.opened_at)],
        ["最近", when(incident.last_seen_at)],
        ["确认", when(incident.acknowledged_at)],
        ["解决", when(incident.resolved_at)],
      ];
      for (const [name, value] of items) fields.append(el("dt", name), el("dd", value));
      const notes = document.getElementById("notes");
      notes.replaceChildren(
        ...(incident.notes || []).map((n) => el("li", `[${when(n.created_at)}] ${n.author || "-"}：${n.text}`))
      );
      if (!(incident.notes || []).length) notes.append(el("li", "暂无", "muted"));
      document.getElementById("evidence").textContent = JSON.stringify(incident.evidence, null, 2);
      const resolved = incident.status === "resolved";
      document.getElementById("do-ack").disabled = resolved || incident.status === "acknowledged";
      document.getElementById("do-resolve").disabled = resolved;
      for (const tr of body.children) tr.classList.toggle("selected", tr.dataset.id === String(incident.id));
    }

    async function open(id) {
      showDetail(await api(`/api/incidents/${Number(id)}`));
    }

    async function act(id, action, payload) {
      const result = await api(`/api/incidents/${Number(id)}/${action}`, {
        body: Object.assign({ author: author.value.trim() || null }, payload),
      });
      noteText.value = "";
      await load();
      showDetail(result.incident);
      setStatus(`#${Number(id)} ${result.changed ? "已更新" : "状态未变"}`);
    }

    function row(incident) {
      const tr = el("tr");
      tr.dataset.id = String(incident.id);
      cell(tr, incident.id, "num");
      cell(tr, incident.topic);
      cell(tr, badge(SEVERITY_NAMES[incident.severity] || incident.severity, incident.severity));
      cell(tr, incident.rule);
      cell(tr, badge(STATUS_NAMES[incident.status] || incident.status, incident.status));
      cell(tr, when(incident.opened_at), "when");
      cell(tr, when(incident.last_seen_at), "when");
      const buttons = cell(tr, null, "row-actions");
      if (incident.status === "open") {
        const ack = el("button", "确认", "ack");
        ack.type = "button";
        ack.addEventListener("click", () => act(incident.id, "ack", {}).catch((e) => setStatus(e.message, true)));
        buttons.append(ack, " ");
      }
      const details = el("button", "详情", "details");
      details.type = "button";
      details.addEventListener("click", () => open(incident.id).catch((e) => setStatus(e.message, true)));
      buttons.append(details);
      return tr;
    }

    async function load() {
      const params = formQuery(form);
      params.delete("author");
      const data = await api("/api/incidents?" + params);
      body.replaceChildren(...data.incidents.map(row));
      if (!data.count) {
        const empty = el("tr");
        cell(empty, "没有符合条件的事件", "muted").colSpan = 8;
        body.append(empty);
      }
      setStatus(`${data.count} 个事件`);
      document.body.dataset.incidentsReady = "1";
    }

    const note = () => ({ note: noteText.value.trim() || null });
    document.getElementById("do-ack").addEventListener("click", () => act(current, "ack", note()).catch((e) => setStatus(e.message, true)));
    document.getElementById("do-resolve").addEventListener("click", () => act(current, "resolve", note()).catch((e) => setStatus(e.message, true)));
    document.getElementById("do-note").addEventListener("click", () => {
      const text = noteText.value.trim();
      if (!text) return setStatus("备注不能为空", true);
      act(current, "note", { text }).catch((e) => setStatus(e.message, true));
    });
    form.addEventListener("change", (event) => {
      if (event.target !== author) load().catch((e) => setStatus(e.message, true));
    });
    await load();
  }

  const pages = { overview: overviewPage, mentions: mentionsPage, incidents: incidentsPage };
  document.addEventListener("DOMContentLoaded", () => {
    const run = pages[document.body.dataset.page];
    if (run) run().catch((e) => setStatus(e.message, true));
  });
})();
