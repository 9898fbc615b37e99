//! Reminders about a pending request: how many were sent, and when the next is due.

use chrono::{DateTime, Utc};

use super::Request;

impl Request {
    pub fn reminders(&self) -> u32 {
        self.reminders
    }

    pub fn with_reminders(mut self, sent: u32) -> Request {
        self.reminders = sent;
        self
    }

    /// When reminder number `reminders() + 1` is due: `remind_after`, then doubling gaps
    /// (5 m, 15 m, 35 m… after the request with the default).
    pub fn next_reminder_at(&self, remind_after: chrono::Duration) -> DateTime<Utc> {
        let factor = (1i32 << (self.reminders.min(10) + 1)) - 1;
        self.created_at + remind_after * factor
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{req, t0};

    #[test]
    fn reminders_follow_with_doubling_gaps() {
        let r = req(1);
        let five = chrono::Duration::minutes(5);
        assert_eq!(r.next_reminder_at(five), t0() + five);
        let r = r.with_reminders(1);
        assert_eq!(
            r.next_reminder_at(five),
            t0() + chrono::Duration::minutes(15)
        );
        let r = r.with_reminders(2);
        assert_eq!(
            r.next_reminder_at(five),
            t0() + chrono::Duration::minutes(35)
        );
    }
}
