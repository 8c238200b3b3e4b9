//! A streamed chat completion (`stream: true`) read as its server-sent events arrive: each piece of text handed on, the usage from the last chunk, a cut-off stream told apart from a finished one.

use application::ports::{AnswerSink, Completion, TokenUsage};
use serde_json::Value;

/// What a stream's events said so far.
#[derive(Default)]
pub(crate) struct StreamReader {
    /// Bytes of a line not yet complete.
    partial: Vec<u8>,
    text: String,
    usage: Option<TokenUsage>,
    /// A choice said why it stopped (`finish_reason`).
    finished: bool,
    /// `data: [DONE]` came.
    done: bool,
}

/// Why a stream cannot give an answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// The server reported an error in the stream, or the stream ended before the answer did:
    /// asking again may help.
    Broken(String),
    /// The stream finished without any text.
    Empty,
}

impl StreamReader {
    /// Reads the lines `bytes` completes, handing each piece of text to `sink`.
    pub(crate) fn feed(&mut self, bytes: &[u8], sink: &dyn AnswerSink) -> Result<(), StreamError> {
        self.partial.extend_from_slice(bytes);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.line(String::from_utf8_lossy(&line).trim(), sink)?;
        }
        Ok(())
    }

    /// One line of the event stream: only `data:` lines matter (comments, `event:` and blank
    /// separators are skipped).
    fn line(&mut self, line: &str, sink: &dyn AnswerSink) -> Result<(), StreamError> {
        let Some(data) = line.strip_prefix("data:").map(str::trim) else {
            return Ok(());
        };
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| StreamError::Broken(format!("an unreadable chunk: {e}")))?;
        if let Some(error) = chunk.get("error") {
            let message = error["message"].as_str().unwrap_or("no message");
            return Err(StreamError::Broken(format!(
                "the stream reported an error: {message}"
            )));
        }
        let choice = &chunk["choices"][0];
        if let Some(piece) = choice["delta"]["content"]
            .as_str()
            .filter(|p| !p.is_empty())
        {
            self.text.push_str(piece);
            sink.piece(piece);
        }
        self.finished |= !choice["finish_reason"].is_null();
        if let Some(usage) = usage(&chunk["usage"]) {
            self.usage = Some(usage);
        }
        Ok(())
    }

    /// The answer, once the body has ended: whole only when the model finished it (or the
    /// server said `[DONE]`), and not blank.
    pub(crate) fn answer(self) -> Result<Completion, StreamError> {
        if !(self.finished || self.done) {
            let reason = format!("the stream was cut off after {} bytes", self.text.len());
            return Err(StreamError::Broken(reason));
        }
        if self.text.trim().is_empty() {
            return Err(StreamError::Empty);
        }
        Ok(Completion {
            text: self.text,
            usage: self.usage,
            cost: None,
            ..Default::default()
        })
    }
}

fn usage(value: &Value) -> Option<TokenUsage> {
    let tokens = |name: &str| value[name].as_u64().and_then(|n| u32::try_from(n).ok());
    Some(TokenUsage {
        prompt_tokens: tokens("prompt_tokens")?,
        completion_tokens: tokens("completion_tokens")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Pieces(Mutex<Vec<String>>);

    impl AnswerSink for Pieces {
        fn piece(&self, text: &str) {
            self.0.lock().unwrap().push(text.to_owned());
        }
        fn restart(&self) {}
    }

    fn chunk(content: &str, finish: Option<&str>) -> String {
        let body = serde_json::json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]});
        format!("data: {body}\n\n")
    }

    #[test]
    fn pieces_are_handed_on_as_lines_complete_even_split_mid_character() {
        let (sink, mut reader) = (Pieces::default(), StreamReader::default());
        let events = [
            chunk("Hé", None),
            chunk("llo", Some("stop")),
            "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 7, \"completion_tokens\": 2}}\n\n".to_owned(),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        let bytes = events.as_bytes();
        let split = events.find('é').unwrap() + 1;
        reader.feed(&bytes[..split], &sink).unwrap();
        assert!(sink.0.lock().unwrap().is_empty(), "no line is complete yet");
        reader.feed(&bytes[split..], &sink).unwrap();

        assert_eq!(*sink.0.lock().unwrap(), ["Hé", "llo"]);
        let answer = reader.answer().unwrap();
        assert_eq!(answer.text, "Héllo");
        assert_eq!(
            answer.usage,
            Some(TokenUsage {
                prompt_tokens: 7,
                completion_tokens: 2
            })
        );
    }

    #[test]
    fn a_stream_that_stops_before_its_end_or_reports_an_error_is_broken() {
        let sink = Pieces::default();
        let mut cut = StreamReader::default();
        cut.feed(chunk("Hel", None).as_bytes(), &sink).unwrap();
        assert!(matches!(cut.answer(), Err(StreamError::Broken(_))));

        let mut failing = StreamReader::default();
        let error = "data: {\"error\": {\"message\": \"overloaded\"}}\n";
        let broken = failing.feed(error.as_bytes(), &sink);
        assert_eq!(
            broken,
            Err(StreamError::Broken(
                "the stream reported an error: overloaded".into()
            ))
        );

        let mut blank = StreamReader::default();
        blank
            .feed(chunk(" ", Some("stop")).as_bytes(), &sink)
            .unwrap();
        assert_eq!(blank.answer().unwrap_err(), StreamError::Empty);
    }
}
