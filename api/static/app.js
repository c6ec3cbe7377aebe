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

  const STATUS = {
    addressed: { icon: '✓', zh: '已满足' },
    missing: { icon: '✗', zh: '未提及' },
    violated: { icon: '⚠', zh: '不符合' },
    uncertain: { icon: '?', zh: '待确认' },
  };
  const KIND = { capability: '能力', means: '技术手段', threshold: '指标' };
  const SECTION = { effect: '应用成效', demand: '示范要求' };
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
  const views = ['match', 'browse', 'search', 'sparql'];
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
    } catch (e) {
      showStatus(status, e, true);
      $('#match-results').replaceChildren();
    } finally {
      btn.disabled = false;
    }
  }

  function renderMatch(result) {
    const box = $('#match-results');
    box.replaceChildren();
    if (result.out_of_scope) {
      box.append(el('div', { class: 'verdict out', id: 'verdict', role: 'note' },
        '不属于任何方向',
        el('small', { text: `最接近方向的置信度仅 ${pct(result.confidence)}，该描述可能不在本次试点示范的十六个方向之内。以下为最接近的方向，仅供参考。` })));
    } else {
      box.append(el('div', { class: 'verdict in', id: 'verdict', role: 'note' },
        `最可能的方向：${result.directions[0].name}`,
        el('small', { text: `置信度 ${pct(result.confidence)}。点击方向查看其要求清单。` })));
    }
    const note = scenarioNote(result);
    if (note) box.append(note);
    const list = el('div', { class: 'direction-results' });
    for (const d of result.directions) {
      const why = d.evidence && d.evidence.length ? d.evidence[0].text : '';
      const btn = el('button', {
        type: 'button',
        class: `direction-result${result.out_of_scope ? ' weak' : ''}`,
        'data-number': d.number,
        'aria-pressed': 'false',
        onclick: () => openChecklist(d.number, true),
      },
      el('span', { class: 'name', text: `${d.number}. ${d.name}` }),
      el('span', { class: 'group', text: d.group }),
      el('span', { class: 'bar', role: 'img', 'aria-label': `置信度 ${pct(d.score)}` }, el('span', { style: `width:${pct(d.score)}` })),
      el('span', { class: 'pct', text: `置信度 ${pct(d.score)} · 相似度 ${d.similarity.toFixed(3)}` }),
      why ? el('span', { class: 'why', text: `依据：${why}` }) : null);
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

  function renderChecklist(report) {
    const cps = codePoints(matchState.text);
    const box = $('#checklist');
    const wrap = el('div', { class: 'checklist', id: 'checklist-panel', 'data-direction': report.direction });
    wrap.append(el('h3', { tabindex: '-1', text: `要求清单 · ${report.direction}. ${report.direction_name}` }));
    const counts = el('ul', { class: 'counts', 'aria-label': '核对结果统计' });
    for (const [st, meta] of Object.entries(STATUS)) {
      counts.append(el('li', { class: `st-${st}`, text: `${meta.icon} ${meta.zh} ${report.counts[st] || 0}` }));
    }
    wrap.append(counts);

    const spans = []; // [start, end, rowIndex, status] for the full-text view
    const list = el('ul', { class: 'req-list' });
    report.requirements.forEach((r, i) => {
      const meta = STATUS[r.status] || STATUS.uncertain;
      const body = el('div', { class: 'body' },
        el('p', { class: 'req-text', text: r.text }),
        el('p', { class: 'tags' },
          el('span', { text: SECTION[r.section] || r.section }),
          el('span', { text: KIND[r.kind] || r.kind }),
          el('span', { text: meta.zh })));
      if (r.kind === 'threshold' && (r.required || r.stated)) {
        body.append(el('p', { class: 'values' },
          '要求：', el('b', { text: r.required || '—' }), '；文本陈述：', el('b', { class: 'stated', text: r.stated || '未说明' })));
      }
      if (r.means_listed && r.means_listed.length) {
        const used = new Set(r.means_used || []);
        body.append(el('ul', { class: 'means', 'aria-label': '所列技术手段（绿色为文本已采用）' },
          r.means_listed.map((m) => el('li', { class: used.has(m) ? 'used' : '', text: used.has(m) ? `✓ ${m}` : m }))));
      }
      if ((r.status === 'addressed' || r.status === 'violated' || r.status === 'uncertain') && r.evidence.length) {
        for (const ev of r.evidence.slice(0, 2)) {
          body.append(contextSnippet(cps, ev.start, ev.end, r.status));
          spans.push([ev.start, ev.end, i, r.status]);
        }
      }
      const row = el('li', {
        class: `req-row st-${r.status}`, 'data-status': r.status, 'data-id': r.id, 'data-row': i, tabindex: '0',
        'aria-label': `${meta.zh}：${r.text}`,
      }, el('span', { class: 'icon', 'aria-hidden': 'true', text: meta.icon }), body);
      row.addEventListener('mouseenter', () => activate(i, true));
      row.addEventListener('mouseleave', () => activate(i, false));
      row.addEventListener('focus', () => activate(i, true));
      row.addEventListener('blur', () => activate(i, false));
      list.append(row);
    });
    wrap.append(list);
    wrap.append(el('h4', { text: '您的文本（高亮为证据句）' }), highlightedText(cps, spans));
    box.replaceChildren(wrap);
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
      artBox.append(el('details', { class: 'item', id: `article-${a.number}` },
        el('summary', {}, el('span', { class: 'num', text: a.label })),
        el('div', { class: 'content' }, el('p', { text: a.text }))));
      const summary = artBox.lastElementChild.firstElementChild;
      summary.append(a.text.slice(0, 28) + (a.text.length > 28 ? '…' : ''));
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
      showStatus(status, hits.length ? `找到 ${hits.length} 条结果` : '没有找到相关内容。');
      for (const h of hits) {
        const [kind, num] = h.id.split('/');
        const target = kind === 'requirement' && h.direction ? `#browse/direction/${h.direction}`
          : (kind === 'direction' || kind === 'article') ? `#browse/${kind}/${num}` : '#browse';
        list.append(el('li', { class: 'hit', 'data-id': h.id },
          el('span', { class: `kind-tag k-${h.kind}`, text: HIT_KIND[h.kind] || h.kind }),
          el('a', { href: target, text: h.title }),
          h.text && h.text !== h.title ? el('p', { text: h.text.length > 160 ? `${h.text.slice(0, 160)}…` : h.text }) : null,
          el('p', { class: 'meta', text: `${h.id} · 得分 ${h.score.toFixed(3)}` })));
      }
    } catch (e) {
      if (seq === searchSeq) showStatus(status, e, true);
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
    $('#sparql-token').value = sessionStorage.getItem('pilotkg.token') || '';
    window.addEventListener('hashchange', route);
    route();
  });
})();
