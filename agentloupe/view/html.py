"""One self-contained HTML file with a run's waterfall across every process.

No network fetches: the data, the style and the script are inline. Click a
span (or open ``run.html#span=<span id>``) for its attributes and events
(memory, hangs, loop blocks, errors).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

from agentloupe.view.traces import SpanRecord, build_trees
from agentloupe.view.tree import mcp_notes

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>agentloupe trace __TITLE__</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{padding:10px 16px;background:#1f2937;color:#fff}
header small{color:#9ca3af;margin-left:8px}
#legend span{display:inline-block;margin-right:12px}
#legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
#rows{padding:6px 16px}
.span-row{display:grid;grid-template-columns:420px 1fr 90px;align-items:center;cursor:pointer;border-bottom:1px solid #f1f1f1}
.span-row:hover{background:#f6f8fa}.span-row.sel{background:#e8f0fe}
.name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.track{position:relative;height:16px}
.bar{position:absolute;top:3px;height:10px;border-radius:2px;min-width:2px}
.err .name{color:#b91c1c;font-weight:600}
.dur{text-align:right;color:#555}
.mark{color:#b45309;margin-left:6px}
.note{color:#6b7280;margin-left:6px;font-size:90%}
#details{position:fixed;right:0;top:0;bottom:0;width:38%;overflow:auto;background:#fff;border-left:1px solid #ddd;padding:12px 16px;display:none}
#details table{border-collapse:collapse;width:100%}#details td{border-bottom:1px solid #eee;padding:2px 4px;vertical-align:top;word-break:break-all}
#details pre{white-space:pre-wrap;background:#f6f8fa;padding:6px}
#close{position:absolute;right:10px;top:8px;border:0;background:none;font-size:20px;cursor:pointer;color:#555}
#axis{display:grid;grid-template-columns:420px 1fr 90px;padding:4px 16px 0;color:#666;font-size:11px;position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd}
#ticks{position:relative;height:16px}
.tick{position:absolute;top:0;border-left:1px solid #ccc;padding-left:3px;height:14px;white-space:nowrap}
.unfinished .dur{color:#b45309}
</style></head><body>
<header><b>agentloupe</b> trace <code>__TITLE__</code><small id="summary"></small><div id="legend"></div></header>
<div id="axis"><div>span</div><div id="ticks"></div><div class="dur">duration</div></div>
<div id="rows"></div>
<aside id="details" aria-label="span details"></aside>
<script type="application/json" id="trace-data">__DATA__</script>
<script>
(function(){
  var data = JSON.parse(document.getElementById('trace-data').textContent);
  var colors = ['#2563eb','#16a34a','#9333ea','#ea580c','#0891b2','#db2777','#65a30d'];
  var services = {}; data.services.forEach(function(s,i){ services[s] = colors[i % colors.length]; });
  var legend = document.getElementById('legend');
  data.services.forEach(function(s){ var e=document.createElement('span'); e.innerHTML='<i style="background:'+services[s]+'"></i>'; e.appendChild(document.createTextNode(s)); legend.appendChild(e); });
  document.getElementById('summary').textContent = data.spans.length + ' spans, ' + data.services.length + ' processes, ' + data.total_ms.toFixed(1) + ' ms';
  var rows = document.getElementById('rows'), details = document.getElementById('details');
  function text(t){ return document.createTextNode(t); }
  // the time axis: five ticks across the run, in ms since its first span started
  var ticks = document.getElementById('ticks');
  [0, 0.25, 0.5, 0.75, 1].forEach(function(f){ var t=document.createElement('div'); t.className='tick';
    t.style.left=(f*100)+'%'; if(f===1){ t.style.left=''; t.style.right='0'; t.style.borderLeft='0'; t.style.borderRight='1px solid #ccc'; t.style.paddingRight='3px'; }
    t.appendChild(text((f*data.total_ms).toFixed(f===0?0:1)+' ms')); ticks.appendChild(t); });
  function hide(){ details.style.display='none'; details.innerHTML='';
    Array.prototype.forEach.call(document.querySelectorAll('.span-row.sel'), function(r){ r.classList.remove('sel'); });
    if(location.hash) history.replaceState(null, '', location.pathname + location.search); }
  document.addEventListener('keydown', function(e){ if(e.key==='Escape') hide(); });
  function show(span, row){
    Array.prototype.forEach.call(document.querySelectorAll('.span-row.sel'), function(r){ r.classList.remove('sel'); });
    row.classList.add('sel'); details.style.display='block'; details.innerHTML='';
    var close=document.createElement('button'); close.id='close'; close.title='close (Esc)'; close.setAttribute('aria-label','close');
    close.appendChild(text('\u00d7')); close.addEventListener('click', hide); details.appendChild(close);
    var h=document.createElement('h3'); h.appendChild(text(span.name)); details.appendChild(h);
    var meta=document.createElement('p'); meta.appendChild(text(span.service+' · '+span.kind+(span.notes?' '+span.notes:'')+' · '+span.duration_ms.toFixed(2)+' ms · '+span.status)); details.appendChild(meta);
    var table=document.createElement('table'); details.appendChild(table);
    Object.keys(span.attributes).sort().forEach(function(k){ var tr=table.insertRow(); tr.insertCell().appendChild(text(k)); tr.insertCell().appendChild(text(JSON.stringify(span.attributes[k]))); });
    span.events.forEach(function(ev){ var h4=document.createElement('h4'); h4.className='event'; h4.appendChild(text('event: '+ev.name)); details.appendChild(h4);
      var pre=document.createElement('pre'); pre.appendChild(text(JSON.stringify(ev.attributes,null,2))); details.appendChild(pre); });
  }
  data.spans.forEach(function(span){
    var row=document.createElement('div'); row.className='span-row'+(span.error?' err':'')+(span.unfinished?' unfinished':''); row.dataset.spanId=span.span_id;
    var name=document.createElement('div'); name.className='name'; name.style.paddingLeft=(span.depth*14)+'px';
    name.appendChild(text(span.name)); name.title=span.service;
    if(span.notes){ var n=document.createElement('span'); n.className='note'; n.appendChild(text(' '+span.notes)); name.appendChild(n); }
    span.events.forEach(function(ev){ if(ev.name!=='cancelled'){ var m=document.createElement('span'); m.className='mark'; m.appendChild(text('● '+ev.name)); name.appendChild(m);} });
    var track=document.createElement('div'); track.className='track';
    var bar=document.createElement('div'); bar.className='bar'; bar.style.background=span.error?'#dc2626':services[span.service];
    bar.style.left=(100*span.offset_ms/data.total_ms)+'%'; bar.style.width=(100*span.duration_ms/data.total_ms)+'%'; track.appendChild(bar);
    var dur=document.createElement('div'); dur.className='dur'; dur.appendChild(text(span.unfinished?'unfinished':span.duration_ms.toFixed(1)+' ms'));
    row.appendChild(name); row.appendChild(track); row.appendChild(dur);
    row.addEventListener('click', function(){ show(span,row); });
    rows.appendChild(row);
  });
  // deep link: run.html#span=<span id> opens that span's details
  function fromHash(){ var m=/^#span=([0-9a-f]+)$/.exec(location.hash); if(!m) return;
    var row=document.querySelector('.span-row[data-span-id="'+m[1]+'"]');
    data.spans.forEach(function(span){ if(span.span_id===m[1] && row) show(span,row); }); }
  window.addEventListener('hashchange', fromHash); fromHash();
})();
</script></body></html>
"""


def render_html(spans: Iterable[SpanRecord], trace_id: str) -> str:
    """The page for ``trace_id``: spans of every process, in tree order, with their offsets."""
    selected = [s for s in spans if s.trace_id == trace_id]
    roots = build_trees(selected)
    start = min((s.start_ns for s in selected), default=0)
    end = max((s.end_ns for s in selected), default=0)
    ordered: list[dict] = []

    def walk(span: SpanRecord, depth: int) -> None:
        ordered.append(
            {
                "span_id": span.span_id,
                "name": span.name,
                "service": span.service,
                "kind": span.kind,
                "depth": depth,
                "offset_ms": (span.start_ns - start) / 1e6,
                "duration_ms": span.duration_ms,
                "error": span.is_error,
                "unfinished": span.unfinished,
                "status": span.status_code.removeprefix("STATUS_CODE_")
                + (f": {span.status_message}" if span.status_message else ""),
                "notes": "  ".join(mcp_notes(span)),
                "attributes": span.attributes,
                "events": [{"name": e["name"], "attributes": e["attributes"]} for e in span.events],
            }
        )
        for child in span.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    data = {
        "trace_id": trace_id,
        "total_ms": max((end - start) / 1e6, 0.001),
        "services": sorted(
            {s["service"] for s in ordered}, key=lambda name: (name != (ordered[0]["service"] if ordered else ""), name)
        ),
        "spans": ordered,
    }
    # "</" inside the JSON would end the script element early
    payload = json.dumps(data, default=str).replace("</", "<\\/")
    return _PAGE.replace("__TITLE__", html.escape(trace_id)).replace("__DATA__", payload)
