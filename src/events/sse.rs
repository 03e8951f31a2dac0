//! The Server-Sent Events wire format.

use bytes::Bytes;

/// What the client waits before reconnecting.
pub const RETRY_MS: u64 = 2000;

/// One event as SSE: `id:`, `event:`, one-line JSON `data:`.
pub fn encode_event(id: u64, event: &str, json: &str) -> Bytes {
    debug_assert!(!json.contains('\n'), "serde_json output is one line");
    let mut s = String::with_capacity(json.len() + event.len() + 40);
    s.push_str("id: ");
    s.push_str(&id.to_string());
    s.push_str("\nevent: ");
    s.push_str(event);
    s.push_str("\ndata: ");
    s.push_str(json);
    s.push_str("\n\n");
    Bytes::from(s)
}

/// The first bytes of every stream.
pub fn retry_frame() -> Bytes {
    Bytes::from(format!("retry: {RETRY_MS}\n\n"))
}

/// A comment line keeps proxies and the browser from timing out.
pub fn ping_frame() -> Bytes {
    Bytes::from_static(b": ping\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout() {
        assert_eq!(
            &encode_event(7, "system", "{\"a\":1}")[..],
            b"id: 7\nevent: system\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(&retry_frame()[..], b"retry: 2000\n\n");
    }
}
