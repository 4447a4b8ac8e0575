//! Size-prefixed frames, as Kafka and Pulsar put them on the wire.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most a single read asks for: a declared size is a claim, not an allocation, so the
/// buffer grows with what actually arrives.
const READ_CHUNK: usize = 64 * 1024;

/// Reads frames of a 4-byte big-endian size followed by that many bytes: Kafka's requests
/// and Pulsar's commands alike.
///
/// A frame larger than the limit the caller passes is refused as soon as its size is read,
/// before any of it is buffered; a frame that is declared large but arrives slowly holds only
/// what has arrived. [`FrameReader::read`] is cancel-safe: bytes read before a `select!` drops
/// it stay buffered for the next call.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    buffer: BytesMut,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The client declared a frame larger than allowed.
    #[error("a frame of {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// The size it declared.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// The connection ended in the middle of a frame.
    #[error("the connection ended in the middle of a frame")]
    Truncated,
    /// Reading failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// Frames from `inner`.
    pub fn new(inner: R) -> FrameReader<R> {
        FrameReader { inner, buffer: BytesMut::new() }
    }

    /// The next frame's body (without its size), or `None` when the peer closed the connection
    /// between frames. A frame declaring more than `max` bytes is an error.
    pub async fn read(&mut self, max: usize) -> Result<Option<Bytes>, FrameError> {
        loop {
            if let Some(size) = self.declared_size() {
                let size_fits = usize::try_from(size).ok().filter(|&size| size <= max);
                let Some(size) = size_fits else {
                    return Err(FrameError::TooLarge { size: u64::from(size), max });
                };
                if self.buffer.len() >= 4 + size {
                    self.buffer.advance(4);
                    return Ok(Some(self.buffer.split_to(size).freeze()));
                }
                let missing = 4 + size - self.buffer.len();
                self.buffer.reserve(missing.min(READ_CHUNK));
            } else {
                self.buffer.reserve(READ_CHUNK.min(4096));
            }
            let read = match self.inner.read_buf(&mut self.buffer).await {
                Ok(read) => read,
                // TLS reports a peer that hangs up without close_notify this way; Kafka clients
                // do, and between frames nothing was lost.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => 0,
                Err(error) => return Err(error.into()),
            };
            if read == 0 {
                return if self.buffer.is_empty() { Ok(None) } else { Err(FrameError::Truncated) };
            }
        }
    }

    /// The underlying reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Gives back the underlying reader and whatever has been read past the last frame.
    pub fn into_parts(self) -> (R, BytesMut) {
        (self.inner, self.buffer)
    }

    fn declared_size(&self) -> Option<u32> {
        let size: [u8; 4] = self.buffer.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(bodies: &[&[u8]]) -> Vec<u8> {
        let mut wire = Vec::new();
        for body in bodies {
            wire.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
            wire.extend_from_slice(body);
        }
        wire
    }

    #[tokio::test]
    async fn frames_come_back_whole_and_in_order() {
        let wire = framed(&[b"one", b"", b"three"]);
        let mut reader = FrameReader::new(&wire[..]);
        assert_eq!(reader.read(16).await.unwrap().unwrap(), &b"one"[..]);
        assert_eq!(reader.read(16).await.unwrap().unwrap(), &b""[..]);
        assert_eq!(reader.read(16).await.unwrap().unwrap(), &b"three"[..]);
        assert!(reader.read(16).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_oversized_declaration_is_refused_before_its_body_arrives() {
        // Only the size is sent: the refusal cannot have waited for the body.
        let wire = (8u32 * 1024 * 1024).to_be_bytes();
        let mut reader = FrameReader::new(&wire[..]);
        let error = reader.read(512 * 1024).await.unwrap_err();
        assert!(matches!(error, FrameError::TooLarge { size: 8_388_608, max: 524_288 }));
        assert!(reader.buffer.capacity() < 64 * 1024, "{}", reader.buffer.capacity());
    }

    #[tokio::test]
    async fn an_end_inside_a_frame_is_truncation() {
        let mut wire = framed(&[b"whole"]);
        wire.extend_from_slice(&[0, 0, 0, 9, b'p']);
        let mut reader = FrameReader::new(&wire[..]);
        assert!(reader.read(16).await.unwrap().is_some());
        assert!(matches!(reader.read(16).await, Err(FrameError::Truncated)));
    }

    #[tokio::test]
    async fn a_read_dropped_midway_loses_nothing() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut reader = FrameReader::new(server);
        use tokio::io::AsyncWriteExt;
        client.write_all(&[0, 0, 0, 4, b'a', b'b']).await.unwrap();
        let early = tokio::time::timeout(std::time::Duration::from_millis(20), reader.read(16));
        assert!(early.await.is_err(), "the frame is not complete yet");
        client.write_all(b"cd").await.unwrap();
        assert_eq!(reader.read(16).await.unwrap().unwrap(), &b"abcd"[..]);
    }
}
