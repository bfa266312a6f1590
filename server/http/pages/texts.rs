//! What the page shells say, in every language the pages speak: one [`PageTexts`] per
//! [`Lang`], chosen by the request's language and handed to the templates as `t`. Only the
//! shells' own words live here; everything drawn later is the modules' under `web/static/`,
//! each with its own table. Texts marked HTML are trusted markup written here, never input.

use crate::i18n::Lang;

/// Every text of the page shells in one language.
#[derive(Debug)]
pub struct PageTexts {
    /// The skip link's label.
    pub skip: &'static str,
    /// The brand link's accessible name.
    pub home: &'static str,
    /// The language switch's accessible name.
    pub switch_label: &'static str,
    /// The footer's link to the OpenAPI document.
    pub api_document: &'static str,
    /// The footer's link to the health check.
    pub health: &'static str,
    /// The landing page's title.
    pub landing_title: &'static str,
    /// The landing page's headline.
    pub headline: &'static str,
    /// The landing page's introduction (HTML).
    pub lede: &'static str,
    /// The button that starts a session.
    pub new_session: &'static str,
    /// The exercises panel's heading.
    pub exercises: &'static str,
    /// Shown until the exercises arrive.
    pub loading_exercises: &'static str,
    /// The server panel's heading.
    pub this_server: &'static str,
    /// The isolation fact's name.
    pub isolation: &'static str,
    /// The live-sessions fact's name.
    pub live_sessions: &'static str,
    /// The version fact's name.
    pub version: &'static str,
    /// The button to the OpenAPI document.
    pub read_api_document: &'static str,
    /// The how-it-works panel's heading.
    pub how_it_works: &'static str,
    /// The how-it-works steps (HTML, one `<li>` each).
    pub steps: [&'static str; 3],
    /// The session page's title, before the session id.
    pub session_title: &'static str,
    /// The session id's tooltip.
    pub session_id: &'static str,
    /// The word before the session id in the top bar.
    pub session_word: &'static str,
    /// The mode badge until the session is known.
    pub loading: &'static str,
    /// The connection status until the stream opens.
    pub connecting: &'static str,
    /// The topology panel's heading.
    pub topology: &'static str,
    /// The side column's accessible name.
    pub controls: &'static str,
    /// The recording panel's heading.
    pub recording: &'static str,
    /// The exercise panel's heading.
    pub exercise: &'static str,
    /// The scenarios panel's heading.
    pub scenarios: &'static str,
    /// The console panel's heading.
    pub console: &'static str,
    /// The session facts panel's heading.
    pub session: &'static str,
    /// The ladder panel's heading.
    pub ladder: &'static str,
    /// What the ladder's axes mean.
    pub ladder_note: &'static str,
    /// The event log panel's heading.
    pub event_log: &'static str,
    /// The export panel's heading.
    pub export: &'static str,
}

impl PageTexts {
    /// The texts in `lang`.
    pub fn of(lang: Lang) -> &'static PageTexts {
        match lang {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

static EN: PageTexts = PageTexts {
    skip: "Skip to content",
    home: "Plugboard home",
    switch_label: "Language",
    api_document: "API document (OpenAPI)",
    health: "Health",
    landing_title: "Plugboard · a socket playground",
    headline: "Make socket calls on real kernel sockets and watch what the kernel does.",
    lede: "Plugboard gives you a private sandbox of hosts where you call <code>socket</code>, \
           <code>bind</code>, <code>listen</code>, <code>connect</code>, <code>accept</code>, \
           <code>send</code> and <code>recv</code> one at a time. Every call and every kernel \
           reaction — a connection waiting to be accepted, bytes arriving, a FIN, a reset — is \
           drawn live as wires, tuples and a ladder of events.",
    new_session: "New session",
    exercises: "Exercises",
    loading_exercises: "Loading exercises…",
    this_server: "This server",
    isolation: "Isolation",
    live_sessions: "Live sessions",
    version: "Version",
    read_api_document: "Read the API document",
    how_it_works: "How it works",
    steps: [
        "Start a session: two hosts, <strong>A</strong> and <strong>B</strong>, each with its own address.",
        "Follow a guided scenario, or make any call yourself in the console — also ones that fail.",
        "Share the read-only link so others can watch; ended sessions can be replayed event by event.",
    ],
    session_title: "Session",
    session_id: "Session id",
    session_word: "session",
    loading: "loading",
    connecting: "connecting…",
    topology: "Topology",
    controls: "Controls",
    recording: "Recording",
    exercise: "Exercise",
    scenarios: "Guided scenarios",
    console: "Call console",
    session: "Session",
    ladder: "Ladder",
    ladder_note: "one lane per host, time downwards",
    event_log: "Event log",
    export: "Export as code",
};

static ZH: PageTexts = PageTexts {
    skip: "跳到正文",
    home: "Plugboard 首页",
    switch_label: "语言",
    api_document: "API 文档（OpenAPI）",
    health: "健康检查",
    landing_title: "Plugboard · 套接字练习场",
    headline: "在真实的内核套接字上逐个调用，亲眼看内核如何响应。",
    lede: "Plugboard 为你准备一个独享的沙箱，里面有几台主机。你可以一次一个地调用 \
           <code>socket</code>、<code>bind</code>、<code>listen</code>、<code>connect</code>、\
           <code>accept</code>、<code>send</code> 和 <code>recv</code>。每次调用和内核的每个反应——\
           一个等待 accept 的连接、到达的数据、一个 FIN、一次复位——都会实时画成连线、四元组和事件时序图。",
    new_session: "新建会话",
    exercises: "练习",
    loading_exercises: "正在加载练习…",
    this_server: "本服务器",
    isolation: "隔离方式",
    live_sessions: "进行中的会话",
    version: "版本",
    read_api_document: "阅读 API 文档",
    how_it_works: "怎么用",
    steps: [
        "新建一个会话：两台主机 <strong>A</strong> 和 <strong>B</strong>，各有自己的地址。",
        "跟着引导场景一步步做，或者在控制台里自己发起任意调用——失败的调用也可以。",
        "分享只读链接，别人就能实时旁观；已结束的会话可以逐个事件回放。",
    ],
    session_title: "会话",
    session_id: "会话 ID",
    session_word: "会话",
    loading: "加载中",
    connecting: "正在连接…",
    topology: "拓扑",
    controls: "操作",
    recording: "录像",
    exercise: "练习",
    scenarios: "引导场景",
    console: "调用控制台",
    session: "会话",
    ladder: "时序图",
    ladder_note: "每台主机一条泳道，时间自上而下",
    event_log: "事件日志",
    export: "导出为代码",
};
