//! How the process allocates. glibc's malloc gives each thread that
//! allocates its own arena (up to eight per core); the watches' objects are
//! allocated and freed on tokio's worker threads, and each arena then keeps
//! its freed pages: at 1,000 Deployments that was 8 MB of resident memory
//! holding nothing (62 MB against 54 MB with two arenas, same speed, in
//! `benches/kube_scale.rs`). Two arenas suit a console with two workers.

/// Caps glibc's malloc arenas at two; called before any thread starts.
/// Elsewhere (musl, macOS) the allocator has no such knob and this does
/// nothing.
pub fn few_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called
    // before the runtime's threads exist, as glibc asks.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
