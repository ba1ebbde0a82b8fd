import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { t, getLang, setLang } from './i18n.js';
import { get, del, signIn, setCsrf, setUnauthenticatedHandler, say } from './api.js';
import { useRoute, navigate, interceptLinks } from './router.js';
import { ErrorText, Loading } from './ui.js';
import { Queue } from './views/queue.js';
import { RequestPage } from './views/request.js';
import { SpreadPage } from './views/spread.js';
import { Appeals } from './views/appeals.js';
import { NewRequest } from './views/new.js';
import { Mine } from './views/mine.js';
import { Banks, BankEntries, Keys, Requesters, Mail, Audit, Report, Health } from './views/admin.js';

// Which screens each role has (the server enforces; the console also hides what a role cannot use).
const NAV = {
  reviewer: [['queue', 'review_queue'], ['appeals', 'appeals']],
  requester: [['new', 'submit_request'], ['mine', 'my_requests']],
  admin: [['queue', 'review_queue'], ['appeals', 'appeals'], ['banks', 'banks'], ['keys', 'keys'],
    ['requesters', 'requesters'], ['mail', 'mail'], ['audit', 'audit_log'], ['report', 'transparency_report'],
    ['health', 'health']],
};
const ROUTES = {
  queue: { roles: ['reviewer', 'admin'], view: Queue, title: 'review_queue' },
  appeals: { roles: ['reviewer', 'admin'], view: Appeals, title: 'appeals' },
  new: { roles: ['requester'], view: NewRequest, title: 'submit_request' },
  mine: { roles: ['requester'], view: Mine, title: 'my_requests' },
  banks: { roles: ['admin'], view: Banks, title: 'banks' },
  keys: { roles: ['admin'], view: Keys, title: 'keys' },
  requesters: { roles: ['admin'], view: Requesters, title: 'requesters' },
  mail: { roles: ['admin'], view: Mail, title: 'mail' },
  audit: { roles: ['admin'], view: Audit, title: 'audit_log' },
  report: { roles: ['admin'], view: Report, title: 'transparency_report' },
  health: { roles: ['admin'], view: Health, title: 'health' },
};
const home = (role) => (NAV[role] ? NAV[role][0][0] : '');

function LangSwitch({ lang, onChange }) {
  return html`<div class="lang">
    <label for="lang-select">${t('language')}</label>
    <select id="lang-select" value=${lang} onChange=${(e) => onChange(e.target.value)}>
      <option value="en" lang="en">English</option>
      <option value="ko" lang="ko">한국어</option>
    </select>
  </div>`;
}

function SignIn({ message, onSignedIn, lang, onLang }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { document.title = `${t('sign_in')} · ${t('app')}`; }, [lang]);
  async function submit(e) {
    e.preventDefault();
    setBusy(true); setError(null);
    try {
      const s = await signIn(key.trim());
      setKey('');
      onSignedIn(s);
    } catch (err) { setError(err); } finally { setBusy(false); }
  }
  return html`<div class="signin-page">
    <header class="signin-header">
      <p class="brand">${t('app')}</p>
      <${LangSwitch} lang=${lang} onChange=${onLang} />
    </header>
    <main id="main" class="signin">
      <h1>${t('sign_in')}</h1>
      <p class="muted">${t('sign_in_intro')}</p>
      ${message && html`<p class="notice" role="status">${message}</p>`}
      <form onSubmit=${submit} class="stack">
        <div class="field">
          <label for="api-key">${t('api_key')}</label>
          <input id="api-key" type="password" autocomplete="off" spellcheck="false" required
            value=${key} onInput=${(e) => setKey(e.target.value)} aria-describedby=${error ? 'signin-error' : undefined} />
        </div>
        <${ErrorText} error=${error} id="signin-error" />
        <div><button type="submit" class="primary" disabled=${busy}>${busy ? t('signing_in') : t('sign_in')}</button></div>
      </form>
    </main>
  </div>`;
}

// A path segment, percent-decoded (null when malformed).
function decodePart(p) { try { return decodeURIComponent(p); } catch { return null; } }

function Shell({ session, lang, onLang, onSignOut, path }) {
  const role = session.role;
  const nav = NAV[role] || [];
  const parts = path.split('/');
  const first = parts[0];
  const bankName = first === 'banks' && parts.length === 2 ? decodePart(parts[1]) : null;
  const bankEntries = bankName !== null && bankName !== '';
  const spread = (first === 'requests' || first === 'entries') && /^\d+$/.test(parts[1] || '') && parts[2] === 'spread' && parts.length === 3;
  let content;
  if (path === '') content = null;
  else if (spread) {
    content = role === 'reviewer' || role === 'admin'
      ? html`<${SpreadPage} kind=${first} id=${parts[1]} />`
      : html`<h1>${t('spread')}</h1><p class="error" role="alert">${t('not_allowed')}</p>`;
  } else if (first === 'requests' && /^\d+$/.test(parts[1] || '') && parts.length === 2) {
    content = html`<${RequestPage} id=${parts[1]} session=${session} />`;
  } else if (bankEntries) {
    content = role === 'admin'
      ? html`<${BankEntries} key=${bankName} name=${bankName} />`
      : html`<h1>${t('banks')}</h1><p class="error" role="alert">${t('not_allowed')}</p>`;
  } else if (ROUTES[first] && path.split('/').length === 1) {
    const r = ROUTES[first];
    content = r.roles.includes(role)
      ? html`<${r.view} session=${session} />`
      : html`<h1>${t(r.title)}</h1><p class="error" role="alert">${t('not_allowed')}</p>`;
  } else content = html`<h1>${t('not_found')}</h1><p class="error" role="alert">${t('page_not_found')}</p>`;
  useEffect(() => { if (path === '') navigate(home(role), { replace: true }); }, [path, role]);
  useEffect(() => {
    const r = ROUTES[first];
    const page = r && parts.length === 1 ? t(r.title)
      : bankEntries ? t('bank_entries_of', { name: bankName })
      : spread ? t(first === 'requests' ? 'spread_of_request' : 'spread_of_entry', { id: parts[1] })
        : first === 'requests' ? t('request_n', { id: parts[1] }) : t('app');
    document.title = `${page} · ${t('app')}`;
  }, [path, lang]);
  return html`<div class="shell" onClick=${interceptLinks}>
    <a class="skip" href="#main">${t('skip')}</a>
    <header class="top">
      <div class="top-row">
        <a class="brand" href=${'/console/' + home(role)}>${t('app')}</a>
        <p class="who"><span class="sr-only">${t('signed_in_as')} </span><strong>${session.name}</strong>
          <span class="role">${t('role_' + role)}</span></p>
        <${LangSwitch} lang=${lang} onChange=${onLang} />
        <button type="button" onClick=${onSignOut}>${t('sign_out')}</button>
      </div>
      <nav aria-label=${t('main_nav')}>
        <ul>
          ${nav.map(([p, key]) => html`<li><a href=${'/console/' + p}
            aria-current=${first === p || (first === 'requests' && p === (role === 'requester' ? 'mine' : 'queue')) ? 'page' : undefined}>${t(key)}</a></li>`)}
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1">${content}</main>
  </div>`;
}

function App() {
  const path = useRoute();
  const [session, setSession] = useState(undefined); // undefined: loading; null: signed out
  const [message, setMessage] = useState('');
  const [lang, setLangState] = useState(getLang());
  const onLang = (l) => { setLang(l); setLangState(getLang()); };
  useEffect(() => {
    setUnauthenticatedHandler((msg) => {
      setCsrf('');
      setSession(null);
      setMessage(`${t('session_ended')} (${msg})`);
    });
    get('/console/session', { noAuthRedirect: true })
      .then((s) => { setCsrf(s.csrf_token); setSession(s); })
      .catch((e) => { setSession(null); if (e.status !== 401) setMessage(say(e)); });
  }, []);
  async function signOut() {
    try { await del('/console/session', { noAuthRedirect: true }); } catch { /* ended already */ }
    setCsrf(''); setSession(null); setMessage(t('signed_out'));
  }
  if (session === undefined) return html`<main id="main"><${Loading} /></main>`;
  if (!session) {
    return html`<${SignIn} message=${message} lang=${lang} onLang=${onLang}
      onSignedIn=${(s) => { setCsrf(s.csrf_token); setMessage(''); setSession(s); }} />`;
  }
  return html`<${Shell} session=${session} lang=${lang} onLang=${onLang} onSignOut=${signOut} path=${path} />`;
}

render(html`<${App} />`, document.getElementById('app'));
