//! The y-websocket protocol's framing as each server speaks it: variable-length integers,
//! and the document-name prefix Hocuspocus puts on every message.

use crate::{Endpoint, Target};

/// Hocuspocus prefixes every message with the document's name.
pub(crate) fn wrap(endpoint: &Endpoint, message: Vec<u8>) -> Vec<u8> {
    if endpoint.target != Target::Hocuspocus {
        return message;
    }
    let mut framed = Vec::with_capacity(message.len() + endpoint.name.len() + 4);
    write_var(&mut framed, endpoint.name.len() as u64);
    framed.extend_from_slice(endpoint.name.as_bytes());
    framed.extend(message);
    framed
}

pub(crate) fn write_var(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_var(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// A received message: its y-protocol type, sync step (if a sync message) and payload.
pub(crate) fn classify(endpoint: &Endpoint, frame: &[u8]) -> Option<(u64, Option<u64>, Vec<u8>)> {
    let mut at = 0;
    if endpoint.target == Target::Hocuspocus {
        let name_len = read_var(frame, &mut at)? as usize;
        at += name_len;
    }
    let kind = read_var(frame, &mut at)?;
    if kind != 0 {
        return Some((kind, None, Vec::new()));
    }
    let step = read_var(frame, &mut at)?;
    let len = read_var(frame, &mut at)? as usize;
    Some((kind, Some(step), frame.get(at..at + len)?.to_vec()))
}
