// pilotkg portal: plain JS, no build step, no external resources.
// Every string from the server or the user is put into the page with textContent, never as HTML.
(() => {
  'use strict';

  const $ = (sel, root = document) => root.querySelector(sel);

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // Order of attention: what to fix first.
  const STATUS = {
    violated: { icon: '⚠', zh: '不满足', head: '不满足要求' },
    missing: { icon: '✗', zh: '未体现', head: '描述中未体现' },
    uncertain: { icon: '?', zh: '待确认', head: '待确认' },
    addressed: { icon: '✓', zh: '已体现', head: '已体现' },
  };
  const ORDER = ['violated', 'missing', 'uncertain', 'addressed'];
  const KIND = { capability: '能力', means: '技术手段', threshold: '指标' };
  const HIT_KIND = { direction: '方向', requirement: '要求', article: '条款' };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.message_zh || body.message_en)) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(path, { method = 'GET', json, headers = {} } = {}) {
    const init = { method, headers: { Accept: 'application/json', ...headers } };
    if (json !== undefined) {
      init.headers['Content-Type'] = 'application/json; charset=utf-8';
      init.body = JSON.stringify(json);
    }
    const resp = await fetch(path, init);
    const type = resp.headers.get('Content-Type') || '';
    const body = type.includes('json') ? await resp.json() : await resp.text();
    if (!resp.ok) throw new ApiError(resp.status, typeof body === 'object' ? body : { message_en: body });
    return body;
  }

  function showStatus(box, message, isError = false) {
    box.replaceChildren();
    box.classList.toggle('error', isError);
    if (message instanceof ApiError) {
      box.append(el('span', { text: message.body.message_zh || message.message }));
      if (message.body.message_en && message.body.message_en !== message.body.message_zh) {
        box.append(el('span', { class: 'en', lang: 'en', text: message.body.message_en }));
      }
    } else if (message instanceof Error) {
      box.append(el('span', { text: `请求失败：${message.message}` }));
    } else if (message) {
      box.append(el('span', { text: message }));
    }
  }

  const pct = (x) => `${Math.round(Math.max(0, Math.min(1, x)) * 100)}%`;

  // Evidence offsets count Unicode code points of the text as sent; JS strings index UTF-16 units,
  // so the text is split into code points once and sliced by those.
  function codePoints(text) { return Array.from(text); }

  // ------------------------------------------------------------------------------------------
  // views
  const views = ['match', 'apply', 'browse', 'search', 'sparql'];
  const loaded = {};

  function route() {
    const [name, ...rest] = (location.hash.replace(/^#/, '') || 'match').split('/');
    const view = views.includes(name) ? name : 'match';
    for (const v of views) $(`#view-${v}`).hidden = v !== view;
    for (const a of document.querySelectorAll('header nav a')) {
      if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!loaded[view]) {
      loaded[view] = true;
      if (view === 'browse') loadBrowse().then(() => reveal(rest)).catch((e) => console.error(e));
      if (view === 'apply') loadApply();
      if (view === 'sparql') loadQueries();
    } else if (view === 'browse') {
      reveal(rest);
    }
  }

  // ------------------------------------------------------------------------------------------
  // match + checklist
  const matchState = { text: '', result: null, selected: null };

  function updateCount() {
    const n = codePoints($('#match-text').value).length;
    $('#match-count').textContent = n ? `${n} 字` : '';
  }

  async function runMatch(ev) {
    ev.preventDefault();
    const text = $('#match-text').value;
    const status = $('#match-status');
    if (!text.trim()) {
      showStatus(status, '请先输入项目描述。', true);
      $('#match-text').focus();
      return;
    }
    const btn = $('#match-btn');
    btn.disabled = true;
    showStatus(status, '正在匹配…');
    $('#checklist').replaceChildren();
    try {
      const result = await api('/api/match', { method: 'POST', json: { text, top: 5 } });
      matchState.text = text;
      matchState.result = result;
      renderMatch(result);
      showStatus(status, '');
      if (!result.out_of_scope && result.directions.length) {
        await openChecklist(result.directions[0].number, false);
      }
      // On a phone the results start below the form: bring the verdict and what to fix into view.
      $('#verdict-box').scrollIntoView({ block: 'start' });
    } catch (e) {
      showStatus(status, e, true);
      $('#match-results').replaceChildren();
      $('#verdict-box').replaceChildren();
    } finally {
      btn.disabled = false;
    }
  }

  function renderVerdict(result) {
    const box = $('#verdict-box');
    if (result.out_of_scope) {
      const near = result.nearest_domain;
      box.replaceChildren(el('div', { class: 'verdict out', id: 'verdict', role: 'note' },
        el('strong', { text: '不属于本次试点示范的十六个方向' }),
        near ? el('p', { class: 'nearest', 'data-domain': near.id },
          '描述最接近的领域是“', el('b', { class: 'domain', text: near.label_zh }),
          '”，它不在本工程（2021 年安全应急装备应用试点示范工程）十六个方向的范围内。这类项目可关注该领域主管部门组织的专项或示范工作。') : null,
        el('p', { class: 'small', text: '下面列出最接近的方向，仅供参考；如项目确实属于其中之一，请在描述中写明对应的应用场景。' })));
      return;
    }
    const best = result.directions[0];
    box.replaceChildren(el('div', { class: 'verdict in', id: 'verdict', role: 'note' },
      el('strong', { text: `最可能的方向：${best.number}. ${best.name}` }),
      el('p', { class: 'small', text: `把握 ${pct(result.confidence)}（经校准的概率）。点击其他方向可查看其要求清单。` })));
  }

  function renderMatch(result) {
    renderVerdict(result);
    const box = $('#match-results');
    box.replaceChildren();
    const note = scenarioNote(result); // the 2023–2025 action-plan scenario(s), or none
    if (note) box.append(note);
    const list = el('div', { class: 'direction-results' },
      el('h3', { class: 'list-title', text: result.out_of_scope ? '最接近的方向（仅供参考）' : '候选方向' }));
    const shown = new Set(); // a sentence is quoted once, on the best direction it supports
    for (const d of result.directions) {
      const evidence = (d.evidence || []).filter((e) => !shown.has(e.text)).slice(0, 2);
      for (const e of evidence) shown.add(e.text);
      const btn = el('button', {
        type: 'button',
        class: `direction-result${result.out_of_scope ? ' weak' : ''}`,
        'data-number': d.number,
        'aria-pressed': 'false',
        onclick: () => openChecklist(d.number, true),
      },
      el('span', { class: 'name', text: `${d.number}. ${d.name}` }),
      el('span', { class: 'group', text: d.group }),
      el('span', { class: 'bar', role: 'img', 'aria-label': `把握 ${pct(d.score)}` }, el('span', { style: `width:${pct(d.score)}` })),
      el('span', { class: 'pct', text: `把握 ${pct(d.score)}` }),
      evidence.length ? el('span', { class: 'why' }, el('span', { class: 'why-label', text: '与此方向最相关的句子：' }),
        ...evidence.map((e) => el('q', { text: e.text }))) : null);
      list.append(btn);
    }
    box.append(list);
  }

  async function openChecklist(number, focus) {
    matchState.selected = number;
    for (const b of document.querySelectorAll('.direction-result')) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.number) === number));
    }
    const box = $('#checklist');
    box.replaceChildren(el('p', { class: 'muted', text: '正在核对要求…' }));
    try {
      const reports = await api('/api/check', { method: 'POST', json: { text: matchState.text, direction: number, top: 1 } });
      if (matchState.selected !== number) return; // a later click won
      renderChecklist(reports[0]);
      if (focus) $('#checklist h3').focus();
    } catch (e) {
      const status = el('div', { class: 'status error' });
      showStatus(status, e, true);
      box.replaceChildren(status);
    }
  }

  function contextSnippet(cps, start, end, cls) {
    const pad = 24;
    const from = Math.max(0, start - pad);
    const to = Math.min(cps.length, end + pad);
    return el('p', { class: 'evidence-snippet' },
      from > 0 ? '…' : '', cps.slice(from, start).join(''),
      el('mark', { class: `evidence ${cls}`, text: cps.slice(start, end).join('') }),
      cps.slice(end, to).join(''), to < cps.length ? '…' : '');
  }

  function summaryLine(report) {
    if (report.summary_zh) return report.summary_zh;
    const n = (st) => report.requirements.filter((r) => r.status === st).length;
    return [`${n('violated')} 处不满足`, `${n('missing')} 项未体现`, n('uncertain') ? `${n('uncertain')} 项待确认` : null,
      `${n('addressed')} 项已体现`].filter(Boolean).join('，');
  }

  function requirementRow(r, i, cps, spans) {
    const meta = STATUS[r.status] || STATUS.uncertain;
    const shown = r.display || r.text;
    const body = el('div', { class: 'body' }, el('p', { class: 'req-text', text: shown }));
    if (r.status === 'violated' && (r.required || r.stated)) {
      body.append(el('p', { class: 'values' },
        '要求 ', el('b', { class: 'required', text: r.required || '—' }),
        '，您的描述 ', el('b', { class: 'stated', text: r.stated || '未说明' })));
    } else if (r.kind === 'threshold' && r.required) {
      body.append(el('p', { class: 'values neutral' }, '要求 ', el('b', { class: 'required', text: r.required }),
        r.stated ? '，您的描述 ' : '', r.stated ? el('b', { class: 'stated', text: r.stated }) : null));
    }
    if (r.means_listed && r.means_listed.length) {
      const used = new Set(r.means_used || []);
      body.append(el('ul', { class: 'means', 'aria-label': '所列技术手段（绿色为描述已采用）' },
        r.means_listed.map((m) => el('li', { class: used.has(m) ? 'used' : '', text: used.has(m) ? `✓ ${m}` : m }))));
    }
    if ((r.status === 'addressed' || r.status === 'violated' || r.status === 'uncertain') && r.evidence.length) {
      for (const ev of r.evidence.slice(0, 2)) {
        body.append(contextSnippet(cps, ev.start, ev.end, r.status));
        spans.push([ev.start, ev.end, i, r.status]);
      }
    }
    if ((r.status === 'missing' || r.status === 'uncertain' || r.status === 'violated') && r.hint_zh) {
      body.append(el('p', { class: 'hint-line' }, el('span', { class: 'hint-label', text: '建议：' }), r.hint_zh));
    }
    const source = el('p', { class: 'source' }, '指南原文：“', el('span', { class: 'guide-words', text: r.text }), '”',
      r.clause ? ` · ${r.clause}` : '');
    if (typeof r.confidence === 'number' && r.confidence < 1) source.append(` · 判断把握 ${pct(r.confidence)}`);
    body.append(source);
    const row = el('li', {
      class: `req-row st-${r.status}`, 'data-status': r.status, 'data-id': r.id, 'data-row': i, tabindex: '0',
      'aria-label': `${meta.zh}：${shown}`,
    }, el('span', { class: 'icon', 'aria-hidden': 'true', text: meta.icon }), body);
    row.addEventListener('mouseenter', () => activate(i, true));
    row.addEventListener('mouseleave', () => activate(i, false));
    row.addEventListener('focus', () => activate(i, true));
    row.addEventListener('blur', () => activate(i, false));
    return row;
  }

  function renderChecklist(report) {
    const cps = codePoints(matchState.text);
    const box = $('#checklist');
    const wrap = el('div', { class: 'checklist', id: 'checklist-panel', 'data-direction': report.direction });
    wrap.append(el('h3', { tabindex: '-1', text: `要求清单 · ${report.direction}. ${report.direction_name}` }));
    wrap.append(el('p', { class: 'summary', id: 'checklist-summary', text: summaryLine(report) }));
    wrap.append(el('div', { class: 'actions no-print' },
      el('button', { type: 'button', id: 'dl-md', onclick: () => download('md', report.direction) }, '下载 Markdown'),
      el('button', { type: 'button', id: 'dl-csv', onclick: () => download('csv', report.direction) }, '下载 CSV'),
      el('button', { type: 'button', id: 'print', onclick: () => window.print() }, '打印')));

    const spans = []; // [start, end, rowIndex, status] for the full-text view
    const rank = Object.fromEntries(ORDER.map((s, k) => [s, k]));
    const rows = [...report.requirements].sort((a, b) => rank[a.status] - rank[b.status]); // stable: guide order within
    rows.forEach((r, i) => { r._row = i; });
    for (const st of ORDER) {
      const group = rows.filter((r) => r.status === st);
      if (!group.length) continue;
      const meta = STATUS[st];
      wrap.append(el('h4', { class: `section-head st-${st}`, text: `${meta.icon} ${meta.head}（${group.length}）` }));
      wrap.append(el('ul', { class: 'req-list', 'data-section': st }, group.map((r) => requirementRow(r, r._row, cps, spans))));
    }
    wrap.append(el('h4', { text: '您的描述（高亮为依据）' }), highlightedText(cps, spans));
    box.replaceChildren(wrap);
  }

  async function download(format, direction) {
    const status = $('#match-status');
    try {
      const resp = await fetch('/api/check/export', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ text: matchState.text, direction, format }),
      });
      if (!resp.ok) {
        const type = resp.headers.get('Content-Type') || '';
        throw new ApiError(resp.status, type.includes('json') ? await resp.json() : { message_en: await resp.text() });
      }
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: `要求清单-方向${direction}.${format}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      showStatus(status, e, true);
    }
  }

  // The user's text with every evidence span marked; overlapping spans are split at their boundaries.
  function highlightedText(cps, spans) {
    const cuts = new Set([0, cps.length]);
    for (const [s, e] of spans) { cuts.add(Math.max(0, Math.min(cps.length, s))); cuts.add(Math.max(0, Math.min(cps.length, e))); }
    const points = [...cuts].sort((a, b) => a - b);
    const out = el('div', { class: 'user-text', id: 'user-text' });
    for (let k = 0; k + 1 < points.length; k++) {
      const [a, b] = [points[k], points[k + 1]];
      const text = cps.slice(a, b).join('');
      const covering = spans.filter(([s, e]) => s <= a && e >= b);
      if (!covering.length) { out.append(text); continue; }
      const violated = covering.some((c) => c[3] === 'violated');
      out.append(el('mark', { class: violated ? 'violated' : '', 'data-rows': covering.map((c) => c[2]).join(' '), text }));
    }
    return out;
  }

  function activate(row, on) {
    for (const m of document.querySelectorAll('#user-text mark')) {
      if (m.dataset.rows.split(' ').includes(String(row))) m.classList.toggle('active', on);
    }
  }

  // ------------------------------------------------------------------------------------------
  // browse
  async function loadBrowse() {
    const [groups, directions, articles] = await Promise.all([api('/api/groups'), api('/api/directions'), api('/api/articles')]);
    const dirBox = $('#browse-directions');
    dirBox.replaceChildren();
    for (const g of groups) {
      const block = el('div', { class: 'group-block' }, el('h4', { text: `${g.label}${g.name}` }));
      for (const d of directions.filter((x) => x.group === g.number)) {
        const content = el('div', { class: 'content' });
        if (d.effect) content.append(el('p', {}, el('strong', { text: '应用成效：' }), d.effect.text));
        if (d.demand) content.append(el('p', {}, el('strong', { text: '示范要求：' }), d.demand.text));
        content.append(el('p', { class: 'muted', text: `拆分出的要求（${d.requirements.length} 条）：` }));
        content.append(el('ol', { class: 'req-mini' }, d.requirements.map((r) => el('li', {},
          el('span', { class: `kind-tag k-${r.kind}`, text: KIND[r.kind] || r.kind }), r.text))));
        block.append(el('details', { class: 'item', id: `direction-${d.number}` },
          el('summary', {}, el('span', { class: 'num', text: d.label }), d.name), content));
      }
      dirBox.append(block);
    }
    const artBox = $('#browse-articles');
    artBox.replaceChildren();
    for (const a of articles) {
      // the article as the corpus writes it (，（） and its paragraphs); `text` is the matching form
      const shown = a.display || a.text;
      artBox.append(el('details', { class: 'item', id: `article-${a.number}` },
        el('summary', {}, el('span', { class: 'num', text: a.label })),
        el('div', { class: 'content' }, ...shown.split('\n').map((para) => el('p', { text: para })))));
      const summary = artBox.lastElementChild.firstElementChild;
      summary.append(shown.slice(0, 28) + (shown.length > 28 ? '…' : ''));
    }
    await loadScenarios();
  }

  // ------------------------------------------------------------------------------------------
  // 2023–2025 action plan scenarios and their cross-walk to the directions (issue 16)
  const RELATION = {
    closeMatch: '基本一致',
    broadMatch: '方向属于该场景',
    relatedMatch: '相关',
    fits: '相符',
  };

  async function loadScenarios() {
    const box = $('#browse-scenarios');
    let plan;
    try {
      plan = await api('/api/scenarios');
    } catch (e) {
      box.replaceChildren(el('p', { class: 'muted', text: '（本语料没有行动计划场景表）' }));
      return;
    }
    $('#scenarios-source').textContent = `《${plan.title_zh}》（${plan.identifier}，${plan.issued}）。`
      + '“无2021年方向”的场景：2021年指南没有对应方向，超出范围的项目会被告知其所属场景。';
    box.replaceChildren();
    for (const s of plan.scenarios) {
      const content = el('div', { class: 'content' },
        el('p', { class: 'muted', text: s.label_en }),
        el('p', { text: s.definition_zh }));
      if (s.mappings.length) {
        content.append(el('ul', { class: 'crosswalk' }, s.mappings.map((m) => el('li', {},
          el('a', { href: `#browse/direction/${m.direction}`, text: `方向${m.direction} ${m.direction_name}` }),
          el('span', { class: `rel rel-${m.relation}`, text: ` ${m.relation}（${RELATION[m.relation]}）` }),
          el('small', { text: m.note_zh })))));
      } else {
        content.append(el('p', { class: 'muted', text: '2021年指南中没有相关方向。' }));
      }
      box.append(el('details', { class: 'item scenario', id: `scenario-${s.number}` },
        el('summary', {}, el('span', { class: 'num', text: `${s.number}.` }), s.label_zh,
          s.covered_2021 ? null : el('span', { class: 'badge uncovered', text: '无2021年方向' })),
        content));
      // the same cross-walk, read from the direction's side
      for (const m of s.mappings) {
        const target = document.querySelector(`#direction-${m.direction} .content`);
        if (target) {
          target.append(el('p', { class: 'crosswalk-line' }, el('strong', { text: '2023—2025年场景：' }),
            el('a', { href: `#browse/scenario/${s.number}`, text: `「${s.label_zh}」` }),
            ` ${m.relation}（${RELATION[m.relation]}）`));
        }
      }
    }
  }

  // The sentence under the match verdict: the scenario(s) of the 2023–2025 action plan.
  function scenarioNote(result) {
    if (!result.scenario_note_zh) return null;
    return el('div', { class: 'scenario-note', id: 'scenario-note', role: 'note' },
      el('span', { text: result.scenario_note_zh }),
      (result.scenarios || []).length ? el('small', {}, '场景：',
        result.scenarios.flatMap((s, i) => [i ? '、' : '',
          el('a', { href: `#browse/scenario/${s.number}`, text: s.label_zh }),
          `（${RELATION[s.relation] || s.relation}）`])) : null);
  }

  // #browse/direction/8 or #browse/article/12 opens and scrolls to that entry.
  function reveal(rest) {
    if (rest.length !== 2) return;
    const node = document.getElementById(`${rest[0]}-${rest[1]}`);
    if (!node) return;
    node.open = true;
    node.scrollIntoView({ block: 'center' });
    node.classList.remove('flash');
    void node.offsetWidth; // restart the animation
    node.classList.add('flash');
    node.querySelector('summary').focus();
  }

  // ------------------------------------------------------------------------------------------
  // search
  let searchSeq = 0;
  let searchTimer = null;

  async function runSearch() {
    const q = $('#search-q').value.trim();
    const status = $('#search-status');
    const list = $('#search-results');
    if (!q) { list.replaceChildren(); showStatus(status, ''); return; }
    const kinds = [...document.querySelectorAll('#search-form input[name="kind"]:checked')].map((i) => i.value);
    const params = new URLSearchParams({ q, limit: '10' });
    for (const k of kinds) params.append('kind', k);
    const seq = ++searchSeq;
    try {
      const hits = await api(`/api/search?${params}`);
      if (seq !== searchSeq) return; // a newer query is on its way
      list.replaceChildren();
      if (!hits.length) {
        status.replaceChildren();
        status.classList.remove('error');
        list.append(el('li', { class: 'no-results', id: 'no-results' },
          el('strong', { text: `没有找到与“${q}”相关的方向、要求或条款。` }),
          el('p', { text: '本检索只覆盖 2021 年安全应急装备应用试点示范工程的政策文本。可以换用政策中的说法（如“监测预警”“应急救援”“申报条件”），或到“匹配”页粘贴整段项目描述。' })));
        return;
      }
      showStatus(status, `找到 ${hits.length} 条相关结果`);
      for (const h of hits) {
        const [kind, num] = h.id.split('/');
        const target = kind === 'requirement' && h.direction ? `#browse/direction/${h.direction}`
          : (kind === 'direction' || kind === 'article') ? `#browse/${kind}/${num}` : '#browse';
        list.append(el('li', { class: 'hit', 'data-id': h.id },
          el('span', { class: `kind-tag k-${h.kind}`, text: HIT_KIND[h.kind] || h.kind }),
          el('a', { href: target, text: h.title }),
          h.text && h.text !== h.title ? el('p', { text: h.text.length > 160 ? `${h.text.slice(0, 160)}…` : h.text }) : null,
          el('p', { class: 'meta', text: h.id })));
      }
    } catch (e) {
      if (seq === searchSeq) showStatus(status, e, true);
    }
  }

  // ------------------------------------------------------------------------------------------
  // before you apply: deadlines, contacts, consortium rules, characteristics; consortium pre-check
  // The unit types the project model accepts (pilotkg.projects.base.UnitType).
  const UNIT_TYPES = ['装备制造企业', '软件企业', '服务提供商', '用户单位', '金融保险机构', 'other'];
  const CN_BATCH = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];
  const zhDate = (iso) => { const [y, m, d] = iso.split('-').map(Number); return `${y}年${m}月${d}日`; };
  const cite = (r) => `${r.clause}「${r.source_text}」（${r.document}）`;

  async function loadApply() {
    const box = $('#apply-info');
    try {
      const [info, directions] = await Promise.all([api('/api/apply-info'), api('/api/directions')]);
      renderApply(info);
      fillPrecheck(info, directions);
    } catch (e) {
      const status = el('div', { class: 'status error' });
      showStatus(status, e, true);
      box.replaceChildren(status);
    }
  }

  function renderApply(info) {
    const box = $('#apply-info');
    const deadlines = el('div', { class: 'card', id: 'apply-deadlines' }, el('h3', { text: '申报截止日期' }));
    for (const n of info.notices) {
      deadlines.append(el('div', { class: `notice${n.checked ? ' checked' : ''}`, 'data-notice': n.id },
        el('p', { class: 'doc' }, el('b', { text: n.doc_number || n.title }),
          n.checked ? el('span', { class: 'tag', text: '资格审查按此日期' }) : el('span', { class: 'tag muted-tag', text: '转发通知规定的本地报送日期' })),
        el('ul', { class: 'dates' }, n.deadlines.map((d) => el('li', {},
          el('span', { class: 'batch', text: `第${CN_BATCH[d.batch] || d.batch}批` }), el('time', { datetime: d.date, text: zhDate(d.date) }))))));
    }
    const contacts = el('div', { class: 'card', id: 'apply-contacts' }, el('h3', { text: '联系人' }));
    for (const n of info.notices.filter((x) => x.contacts.length)) {
      contacts.append(el('p', { class: 'doc', text: n.doc_number || n.title }),
        el('ul', { class: 'contacts' }, n.contacts.map((c) => el('li', {},
          el('span', { text: `${c.name}（${c.organisation}）` }), el('a', { href: `tel:${c.phone}`, text: c.phone })))));
    }
    const rules = el('div', { class: 'card', id: 'apply-rules' }, el('h3', { text: '联合体与申报规则' }),
      el('ul', { class: 'rules' }, info.consortium_rules.map((r) => el('li', { 'data-rule': r.kind },
        el('span', { class: 'rule-text', text: r.sentence || r.source_text }), el('small', { text: `${r.clause}（${r.document}）` })))));
    const chars = el('div', { class: 'card', id: 'apply-characteristics' }, el('h3', { text: '评审关注的四个特点' }));
    if (info.characteristics) {
      chars.append(el('ul', { class: 'chips' }, info.characteristics.values.map((v) => el('li', { text: v }))),
        el('small', { text: cite(info.characteristics) }));
    }
    if (info.business_models && info.business_models.values.length) {
      chars.append(el('p', { class: 'models' }, '鼓励的模式：', info.business_models.values.join('、')),
        el('small', { text: cite(info.business_models) }));
    }
    box.replaceChildren(deadlines, rules, chars, contacts);
  }

  function fillPrecheck(info, directions) {
    const types = $('#pc-lead-type');
    types.replaceChildren(...UNIT_TYPES.map((t) => el('option', { value: t, text: t === 'other' ? '其他' : t })));
    const checked = info.notices.find((n) => n.checked) || info.notices[0];
    $('#pc-batch').replaceChildren(...(checked ? checked.deadlines : []).map((d) =>
      el('option', { value: d.batch, text: `第${CN_BATCH[d.batch] || d.batch}批（截止 ${zhDate(d.date)}）` })));
    $('#pc-direction').append(...directions.map((d) => el('option', { value: d.number, text: `${d.number}. ${d.name}` })));
  }

  function partnerUnits() {
    return $('#pc-partners').value.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
      const [name, type] = line.split(/[，,|\t]/).map((x) => x.trim());
      return { name, type: UNIT_TYPES.includes(type) ? type : 'other' };
    });
  }

  async function runPrecheck(ev) {
    ev.preventDefault();
    const out = $('#precheck-result');
    const direction = $('#pc-direction').value;
    const body = {
      lead_unit: { name: $('#pc-lead').value.trim(), type: $('#pc-lead-type').value },
      partners: partnerUnits(),
      region: $('#pc-region').value.trim(),
      batch: Number($('#pc-batch').value),
      directions: direction ? [Number(direction)] : [],
    };
    out.replaceChildren(el('p', { class: 'muted', text: '正在检查…' }));
    try {
      const report = await api('/api/projects/precheck', { method: 'POST', json: body });
      if (report.conforms) {
        out.replaceChildren(el('div', { class: 'verdict in', id: 'precheck-verdict' },
          el('strong', { text: '✓ 符合通知规定的联合体条件' }),
          el('p', { class: 'small', text: `已检查 ${report.rules.length} 条规则。未检查：${Object.values(report.not_checked).join('；')}` })));
        return;
      }
      out.replaceChildren(el('div', { class: 'verdict out', id: 'precheck-verdict' },
        el('strong', { text: `⚠ ${report.violations.length} 处不符合申报条件` }),
        el('ul', { class: 'violations' }, report.violations.map((v) => el('li', { 'data-rule': v.rule.kind },
          el('span', { text: v.message_zh }),
          el('small', { class: 'cite', text: `依据：${v.rule.clause}「${v.rule.source_text}」（${v.rule.document_title}）` }))))));
    } catch (e) {
      const status = el('div', { class: 'status error' });
      showStatus(status, e, true);
      out.replaceChildren(status);
    }
  }

  // ------------------------------------------------------------------------------------------
  // sparql
  async function loadQueries() {
    const list = $('#query-list');
    try {
      const queries = await api('/api/queries');
      list.replaceChildren();
      if (!queries.length) list.append(el('li', { class: 'muted', text: '暂无示例查询。' }));
      for (const q of queries) {
        list.append(el('li', {}, el('button', {
          type: 'button', 'aria-pressed': 'false', 'data-name': q.name,
          onclick: (ev) => {
            for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
            ev.currentTarget.setAttribute('aria-pressed', 'true');
            $('#sparql-text').value = q.query;
            runSparql();
          },
        }, q.title || q.name, el('small', { text: q.name }))));
      }
    } catch (e) {
      list.replaceChildren(el('li', { class: 'muted', text: `示例查询加载失败：${e.message}` }));
    }
  }

  function termCell(term) {
    if (!term) return el('td', { class: 'unbound', text: '' });
    if (term.type === 'uri') return el('td', { class: 'iri', text: term.value });
    const cell = el('td', { text: term.value });
    if (term['xml:lang']) cell.setAttribute('lang', term['xml:lang']);
    return cell;
  }

  async function runSparql(ev) {
    if (ev) ev.preventDefault();
    const query = $('#sparql-text').value;
    const token = $('#sparql-token').value.trim();
    sessionStorage.setItem('pilotkg.token', token);
    const status = $('#sparql-status');
    const out = $('#sparql-results');
    showStatus(status, '正在查询…');
    out.replaceChildren();
    const headers = {
      'Content-Type': 'application/sparql-query; charset=utf-8',
      Accept: 'application/sparql-results+json, text/turtle;q=0.9',
    };
    if (token) headers.Authorization = `Bearer ${token}`;
    const started = performance.now();
    try {
      const resp = await fetch('/sparql', { method: 'POST', headers, body: query });
      const type = resp.headers.get('Content-Type') || '';
      if (!resp.ok) {
        const body = type.includes('json') ? await resp.json() : { message_en: await resp.text() };
        throw new ApiError(resp.status, body);
      }
      const ms = Math.round(performance.now() - started);
      if (type.includes('sparql-results+json')) {
        const data = await resp.json();
        if ('boolean' in data) {
          showStatus(status, `ASK 结果（${ms} 毫秒）`);
          out.append(el('p', { class: 'ask', text: data.boolean ? '是（true）' : '否（false）' }));
          return;
        }
        const vars = data.head.vars;
        const rows = data.results.bindings;
        showStatus(status, `${rows.length} 行（${ms} 毫秒）`);
        out.append(el('table', { class: 'results' },
          el('thead', {}, el('tr', {}, vars.map((v) => el('th', { scope: 'col', text: `?${v}` })))),
          el('tbody', {}, rows.map((b) => el('tr', {}, vars.map((v) => termCell(b[v])))))));
      } else {
        showStatus(status, `图结果（${ms} 毫秒）`);
        out.append(el('pre', { class: 'graph', text: await resp.text() }));
      }
    } catch (e) {
      showStatus(status, e, true);
    }
  }

  // ------------------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', () => {
    $('#match-form').addEventListener('submit', runMatch);
    $('#match-text').addEventListener('input', updateCount);
    $('#match-text').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('#match-form').requestSubmit();
    });
    $('#search-form').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(searchTimer); runSearch(); });
    $('#search-q').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 250); });
    for (const box of document.querySelectorAll('#search-form input[name="kind"]')) box.addEventListener('change', runSearch);
    $('#sparql-form').addEventListener('submit', runSparql);
    $('#precheck-form').addEventListener('submit', runPrecheck);
    $('#pc-partners').addEventListener('input', () => {
      const n = partnerUnits().length;
      $('#pc-count').textContent = n ? `联合单位 ${n} 家` : '';
    });
    $('#sparql-token').value = sessionStorage.getItem('pilotkg.token') || '';
    window.addEventListener('hashchange', route);
    route();
  });
})();
