// Static assets of the dashboard and the client page: one stylesheet and a few lines of vanilla JS.
export const DASHBOARD_CSS = `
:root{--fg:#1d2433;--muted:#5b6475;--line:#d9dde6;--bg:#f7f8fb;--accent:#1f5fbf;--bad:#b42318;--warn:#b54708;--ok:#067647}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:#fff}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
header{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1.2rem;background:#12284a;color:#fff}
header a{color:#fff}.brand{font-weight:700;text-decoration:none;margin-right:1rem}
nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;flex:1}nav ul{display:flex;flex-wrap:wrap;gap:.9rem;list-style:none;margin:0;padding:0;flex:1}
nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}.logout{display:flex;gap:.5rem;align-items:center;margin:0}
main{padding:1rem 1.2rem;max-width:1280px}h1{font-size:1.5rem;margin:.4rem 0 1rem}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid var(--line);padding:.45rem .5rem;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}caption{text-align:left;color:var(--muted);padding:.3rem 0}
button,.button{font:inherit;padding:.4rem .8rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:6px;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:var(--accent)}button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f5b700;outline-offset:2px}
form.inline{display:inline}label{display:block;margin:.4rem 0 .15rem;font-weight:600}
input,select,textarea{font:inherit;padding:.4rem;border:1px solid #9aa3b5;border-radius:6px;max-width:100%}
fieldset{border:1px solid var(--line);border-radius:8px;margin:.6rem 0;padding:.6rem .9rem}legend{font-weight:700}
.check{display:flex;gap:.5rem;align-items:center;font-weight:400;margin:.2rem 0}.check input{width:1.2rem;height:1.2rem}
.filters{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-end;background:var(--bg);padding:.6rem .9rem;border-radius:8px}.filters>div{max-width:100%}.filters select,.filters input:not([type=checkbox]){max-width:100%}.pager{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem 1rem}
.flash{padding:.7rem 1rem;border-radius:8px;margin:.5rem 0 1rem}.flash.ok{background:#ecfdf3;border:1px solid #75e0a7}.flash.error{background:#fef3f2;border:1px solid #fda29b}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.85rem;border:1px solid currentColor}
.badge.bad{color:var(--bad)}.badge.warn{color:var(--warn)}.badge.ok{color:var(--ok)}.badge.muted{color:var(--muted)}
.muted{color:var(--muted)}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
.card{border:1px solid var(--line);border-radius:10px;padding:.8rem 1rem}.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
svg{max-width:100%;height:auto}details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
/* Client page: full-width score charts (scroll sideways on a phone so the text stays >= 12 px); critical answers marked */
.chart-scroll{overflow-x:auto}.chart-scroll svg{width:100%;min-width:900px}tr.critical td{background:#fef3f2;font-weight:600}tr.critical td:first-child{border-left:4px solid var(--bad)}
dl.state{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.4rem 0 1rem}dl.state dt{font-weight:600}dl.state dd{margin:0}
footer{padding:1rem 1.2rem;color:var(--muted);border-top:1px solid var(--line)}
.empty{padding:1rem;background:var(--bg);border-radius:8px}
pre{white-space:pre-wrap;background:var(--bg);padding:.6rem;border-radius:6px}
/* Client assessment page: one column, large targets */
.client main{max-width:680px;margin:0 auto}.client .q{border:1px solid var(--line);border-radius:10px;padding:.8rem;margin:.8rem 0}
.client .q legend{font-weight:600;padding:0 .3rem}.client .opt{display:flex;gap:.6rem;align-items:center;padding:.45rem 0;font-weight:400;margin:0}
.client .opt input{width:1.4rem;height:1.4rem;flex:none;margin:0}.client .opt label{font-weight:400;margin:0;flex:1;padding:.2rem 0}.client button{width:100%;padding:.8rem;font-size:1.1rem}
[hidden]{display:none!important}.client header .brand{color:#fff}.client legend{white-space:normal;max-width:100%}.client .q .hint{margin:.2rem 0;color:var(--muted)}
.client button.clear{width:auto;padding:.3rem .8rem;font-size:.95rem;margin-top:.3rem}.client .q.invalid{border:2px solid var(--bad)}.client .field-error{color:var(--bad);font-weight:600;margin:.3rem 0}
.client .part{border-top:3px solid var(--line);margin-top:1.6rem}.client .progress{margin:.8rem 0 0;color:var(--muted)}.client .inst{font-size:.8rem;margin-left:.4rem}
.client .help-now{font-size:.95rem;background:#fef3f2;border-radius:8px;padding:.4rem .7rem}.client .parts ol{margin:.3rem 0;padding-left:1.4rem}
.field-error{color:var(--bad);font-weight:600;margin:.2rem 0}[aria-invalid=true]{border:2px solid var(--bad)}fieldset.group{border:0;padding:0;margin:.6rem 0}fieldset.group>legend{font-weight:700}
.error-summary{border:3px solid var(--bad);border-radius:10px;padding:.8rem 1rem;margin:1rem 0}.error-summary h2{margin-top:0}.error-summary:focus{outline:3px solid #f5b700}
.crisis{border:2px solid var(--bad);background:#fef3f2;border-radius:10px;padding:1rem;margin:1rem 0}
@media (max-width:640px){table.responsive thead{display:none}table.responsive td{display:block;border:0;padding:.2rem .3rem}table.responsive tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}}
/* The REMS Patient Monitoring Form (src/rems/routes.ts): two columns; printed alone on one page, no navigation */
.rems-print .cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:0 1.2rem}.rems-print h2{margin:.8rem 0 .3rem}.rems-print .sig{margin:.3rem 0}
@page{margin:10mm}
@media print{header,.skip,footer,nav,.no-print{display:none!important}body{font-size:9pt;line-height:1.2}main{padding:0;max-width:none}h1{font-size:12pt;margin:0 0 .2rem}.rems-print .cols{grid-template-columns:1fr 1fr}.rems-print h2{font-size:9.5pt;margin:.3rem 0 .1rem;break-after:avoid}.rems-print table{margin:0}.rems-print th,.rems-print td{padding:.05rem .25rem}.rems-print .flash{padding:.15rem .4rem;margin:.1rem 0}.rems-print section{break-inside:avoid}a{color:inherit;text-decoration:none}}
`;

// Progressive enhancement only: every page works without it.
export const DASHBOARD_JS = `
document.addEventListener('DOMContentLoaded', function () {
  // Confirm consequential actions (withdraw, deny) before submitting.
  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) { if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault(); });
  });
  // One submit per form: once a POST form is on its way its buttons are disabled (after the confirm
  // above, which may cancel it). The server sees a second send of an action form as the same Update
  // anyway (its _submission id). Coming back to the page from the history re-enables them.
  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (e.defaultPrevented || !f || (f.getAttribute('method') || '').toLowerCase() !== 'post') return;
    if (f.getAttribute('data-sending')) { e.preventDefault(); return; }
    f.setAttribute('data-sending', '1');
    // After this event: a submit button disabled now would drop its own name from what is sent.
    setTimeout(function () { f.querySelectorAll('button[type=submit],button:not([type])').forEach(function (b) { b.disabled = true; b.setAttribute('aria-busy', 'true'); }); }, 0);
  });
  window.addEventListener('pageshow', function () {
    document.querySelectorAll('form[data-sending]').forEach(function (f) {
      f.removeAttribute('data-sending');
      f.querySelectorAll('button[aria-busy]').forEach(function (b) { b.disabled = false; b.removeAttribute('aria-busy'); });
    });
  });
  // Client form: a question shown only while the answer it depends on holds (C-SSRS 3-5 when 2 is
  // Yes, 6b when 6 is Yes); a hidden question's inputs are disabled, so nothing hidden is sent. The
  // blank "Does not apply to me" choice is for pages without this script. "Clear this answer" shows
  // on a question once it has an answer. A refused form focuses its error summary.
  var conditional = document.querySelectorAll('[data-when-name]');
  var clears = document.querySelectorAll('[data-clear]');
  function sync() {
    conditional.forEach(function (el) {
      var on = document.querySelector('input[name="' + el.getAttribute('data-when-name') + '"]:checked');
      var show = !!on && !on.disabled && on.value === el.getAttribute('data-when-value');
      el.hidden = !show;
      el.querySelectorAll('input').forEach(function (i) { i.disabled = !show; });
    });
    clears.forEach(function (b) { b.hidden = !b.parentNode.querySelector('input:checked'); });
  }
  document.querySelectorAll('[data-blank-choice]').forEach(function (el) {
    var i = el.querySelector('input');
    if (!i.checked) { el.hidden = true; i.disabled = true; }
  });
  clears.forEach(function (b) {
    b.addEventListener('click', function () {
      var box = b.parentNode;
      box.querySelectorAll('input[type=radio]').forEach(function (i) { i.checked = false; });
      sync();
      var first = box.querySelector('input:not([disabled])');
      if (first) first.focus();
    });
  });
  document.addEventListener('change', sync);
  if (conditional.length || clears.length) sync();
  var summary = document.getElementById('error-summary');
  if (summary) summary.focus();
  // A file chosen for a textarea (a protocol's JSON on its draft page): its text goes into the
  // textarea, which is what is sent; without this script the box is pasted into by hand.
  document.querySelectorAll('input[type=file][data-fill]').forEach(function (input) {
    input.parentNode.hidden = false;
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var target = document.getElementById(input.getAttribute('data-fill'));
      if (file && target) file.text().then(function (t) { target.value = t; });
    });
  });
});
`;
