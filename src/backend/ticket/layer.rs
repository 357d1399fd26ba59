//! The ticket as a layer over the backend chain, as the webhook is: the
//! console's `:attach` and its status messages (`w`) go through it. A
//! ticket whose token is missing does not stop the console: the attach
//! says why when asked.

use super::super::layer::Layer;
use super::super::{Backend, BoxFut};
use super::{Client, TicketError};
use crate::core::action::{Attached, BackendError};
use std::sync::Arc;

pub struct Ticket {
    inner: Arc<dyn Backend>,
    client: Result<Client, TicketError>,
    label: String,
}

impl Ticket {
    pub fn new(inner: Arc<dyn Backend>, r: super::TicketRef) -> Ticket {
        let label = r.label();
        Ticket {
            inner,
            client: Client::new(r),
            label,
        }
    }

    fn client(&self) -> Result<&Client, BackendError> {
        self.client
            .as_ref()
            .map_err(|e| BackendError::Unavailable(e.to_string()))
    }

    /// The webhook's answer (if one is configured below) and the ticket's,
    /// in one line; an error only when neither took the message.
    async fn post_both(&self, text: &str) -> Result<String, BackendError> {
        let hook = self.inner.post_status(text).await;
        let mine = match self.client() {
            Ok(c) => c.comment(text).await.map_err(error),
            Err(e) => Err(e),
        };
        let mut parts = Vec::new();
        let mut taken = false;
        match &hook {
            Some(Ok(a)) => {
                taken = true;
                parts.push(format!("the webhook: {a}"));
            }
            Some(Err(e)) => parts.push(format!("the webhook did NOT take it: {e}")),
            None => {}
        }
        match mine {
            Ok(url) => {
                taken = true;
                parts.push(format!("{} took it as {url}", self.label));
            }
            Err(e) => parts.push(format!("{} did NOT take it: {e}", self.label)),
        }
        let said = parts.join("; ");
        if taken {
            Ok(said)
        } else {
            Err(BackendError::Unavailable(said))
        }
    }
}

fn error(e: TicketError) -> BackendError {
    match e {
        TicketError::Unreachable(m) => BackendError::Unreachable(m),
        TicketError::Refused(m) | TicketError::NoToken(m) => BackendError::Unavailable(m),
        TicketError::BadRef(m) | TicketError::File(m) | TicketError::Malformed(m) => {
            BackendError::Unavailable(m)
        }
    }
}

impl Layer for Ticket {
    fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }
    fn post<'a>(&'a self, text: &'a str) -> Option<BoxFut<'a, Result<String, BackendError>>> {
        Some(Box::pin(self.post_both(text)))
    }
    fn attach<'a>(&'a self, note: &'a str) -> Option<BoxFut<'a, Result<Attached, BackendError>>> {
        Some(Box::pin(async move {
            self.client()?
                .attach_file(std::path::Path::new(note))
                .await
                .map_err(error)
        }))
    }
}
