//! Photos users send, fetched for a model that sees them: `getFile` says where the file is, then it is downloaded from `{api}/file/bot<token>/<path>`, never more than the bytes asked for.

use crate::raw::BotCall;
use application::ports::SendError;
use serde_json::json;

impl BotCall<'_> {
    /// The bytes of the file `file_id`, at most `max_bytes` (a larger file is a permanent
    /// failure, found from its announced size or while reading it).
    pub(crate) async fn download(
        &self,
        file_id: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, SendError> {
        let file = self
            .post("getFile", &json!({"file_id": file_id}))
            .await?
            .map_err(|refused| refused.into_error())?;
        let too_large =
            || SendError::Permanent(format!("the file is larger than {max_bytes} bytes"));
        if file["file_size"]
            .as_u64()
            .is_some_and(|size| size > max_bytes as u64)
        {
            return Err(too_large());
        }
        let path = file["file_path"]
            .as_str()
            .ok_or_else(|| SendError::Permanent("Telegram named no file path".to_owned()))?;
        let url = self.url(&format!("file/bot{}/{path}", self.token));
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| self.failed(e))?;
        let status = response.status();
        if !status.is_success() {
            let reason = format!("HTTP {status} downloading the file");
            return Err(match status.is_server_error() {
                true => SendError::Transient(reason),
                false => SendError::Permanent(reason),
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failed(e))? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}
