//! Wire types of the calls API and their conversions to and from the sandbox's domain types:
//! the call request body ([`call_request`]) and the call's answer ([`call_reply`]).

pub mod call_reply;
pub mod call_request;

pub use call_reply::{CallResponse, encode};
pub use call_request::{CallRequest, Encoding, call_names};
