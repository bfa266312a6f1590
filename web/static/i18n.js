// The page's language: English or Simplified Chinese. The server renders <html lang> from
// the switch's cookie or Accept-Language (server/i18n.rs); every module reads it here and keeps
// its own texts beside its code, in both languages:
//
//   const T = localize({
//     en: { waiting: 'waiting for {n} bytes' },
//     'zh-CN': { waiting: '等待 {n} 字节' },
//   });
//   T.waiting              // the current language's text, English where it is missing
//   fill(T.waiting, { n }) // with its parameters
//
// Pure apart from reading document.documentElement.lang and, in choose(), writing the cookie;
// node tests call useLang() instead.

/** The languages the page speaks, English first (the fallback of every text). */
export const LANGS = ['en', 'zh-CN'];
/** The cookie the server reads (server/i18n.rs LANG_COOKIE). */
export const LANG_COOKIE = 'plugboard_lang';

let current = null;

/** The page's language: 'en' or 'zh-CN'. */
export function lang() {
  if (current) return current;
  const tag = typeof document !== 'undefined' ? document.documentElement.lang : 'en';
  current = tag && tag.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
  return current;
}

/** For tests without a DOM: speak `tag` from now on. */
export function useLang(tag) {
  current = LANGS.includes(tag) ? tag : 'en';
}

/**
 * One table of texts for the current language: each key in the language's own table, or
 * English where that has no text for it. A getter, so a test's useLang() is seen at once.
 */
export function localize(texts) {
  return new Proxy({}, {
    get(_, key) {
      const own = texts[lang()];
      if (own && Object.prototype.hasOwnProperty.call(own, key)) return own[key];
      return texts.en[key];
    },
  });
}

/** The keys of `texts` that have English but no text in `tag`: what is left to translate. */
export function untranslated(texts, tag) {
  const own = texts[tag] || {};
  return Object.keys(texts.en).filter((key) => !Object.prototype.hasOwnProperty.call(own, key));
}

/** `template` with each {name} replaced by params[name]. */
export function fill(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The switch: remember `tag` (a cookie the server reads, for a year) and redraw the page in it. */
export function choose(tag) {
  if (!LANGS.includes(tag)) return;
  document.cookie = `${LANG_COOKIE}=${tag}; Path=/; Max-Age=31536000; SameSite=Lax`;
  try {
    localStorage.setItem(LANG_COOKIE, tag);
  } catch {
    /* storage may be disabled: the cookie still remembers */
  }
  location.reload();
}

/** Wire the page's language switch (its buttons carry data-lang) to choose(). */
export function bindSwitch(root = document) {
  for (const button of root.querySelectorAll('.lang-switch [data-lang]')) {
    button.addEventListener('click', () => {
      if (button.dataset.lang !== lang()) choose(button.dataset.lang);
    });
  }
}
