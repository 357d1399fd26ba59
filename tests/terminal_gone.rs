//! The terminal going away under a running console (ssh drops, tmux
//! closes) — here while it is suspended with Ctrl-Z — ends the session as
//! SIGHUP does: an end entry in the note, no panic, no crash record. The
//! console runs on a real pseudo-terminal whose master side is closed.
#![allow(unsafe_code)] // a pty made with libc (openpty, fork) to close the terminal under the console
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A pty pair: (master, slave).
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty writes two fds into the given ints.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // The child must not inherit the master, or the terminal never goes away.
    // SAFETY: fcntl on the fd just opened.
    unsafe { libc::fcntl(m, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: both fds were just opened and are owned here only.
    unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

#[test]
fn a_terminal_that_goes_away_while_suspended_ends_the_session_as_sighup_does() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (master, slave) = pty();
    let mut ws = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize given.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &mut ws) };
    let fd = slave.as_raw_fd();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rbtui"));
    cmd.args(["demo", "--note"])
        .arg(&note)
        .env("TERM", "xterm-256color")
        .current_dir(dir.path())
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(fd, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    // The command keeps its copies of the slave: only the child holds it.
    drop(cmd);
    drop(slave);
    // What the console draws is read (without blocking) so it never
    // stalls on a full pty; the master stays this test's only handle.
    let m = master.as_raw_fd();
    // SAFETY: fcntl on an fd owned here.
    unsafe {
        libc::fcntl(
            m,
            libc::F_SETFL,
            libc::fcntl(m, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
    let drain = || {
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a local buffer from an owned fd.
        while unsafe { libc::read(m, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    };
    let t0 = Instant::now();
    while !std::fs::read_to_string(&note).is_ok_and(|n| n.contains("**")) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the console never started"
        );
        drain();
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..10 {
        drain();
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id() as i32;
    // Ctrl-Z as the shell's job control delivers it, then the terminal
    // goes away while the process is stopped, then it is continued.
    // SAFETY: signals to our own child.
    unsafe { libc::kill(pid, libc::SIGTSTP) };
    for _ in 0..10 {
        drain();
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(master);
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            let st = Command::new("ps")
                .args(["-o", "stat=,wchan=", "-p", &pid.to_string()])
                .output()
                .unwrap();
            let _ = child.kill();
            panic!(
                "still running after its terminal went away: {}\n{}",
                String::from_utf8_lossy(&st.stdout),
                std::fs::read_to_string(&note)
                    .unwrap_or_default()
                    .lines()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let text = std::fs::read_to_string(&note).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !text.contains("panicked") && !text.contains("**crash**"),
        "{text}"
    );
    assert!(
        text.contains("ending the session") && text.contains("\"marker\":\"end\""),
        "{text}"
    );
    assert!(
        text.contains("the terminal went away") || text.contains("received SIGHUP"),
        "{text}"
    );
    assert_eq!(status.code(), Some(0), "{err}");
}
