#if canImport(Glibc)
    import Glibc
#endif

/// Gives freed heap memory back to the kernel. glibc keeps what a burst of connections freed in
/// its arenas (one per thread that allocated, up to eight per core), so a process's resident
/// memory stays at its peak long after the burst; `malloc_trim(0)` returns every whole free page
/// of every arena (madvise(MADV_DONTNEED)). It costs little when there is little to return, so
/// long-running roles call it on a timer (`scripts/bench/memory.sh` measures the effect).
public enum HeapTrim {
    #if canImport(Glibc)
        /// glibc's `int malloc_trim(size_t pad)`, looked up once (`<malloc.h>` is not in Swift's Glibc module).
        private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
            guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        }()
    #endif

    /// Trims the heap now; a no-op where the C library has no `malloc_trim`.
    public static func run() {
        #if canImport(Glibc)
            _ = mallocTrim?(0)
        #endif
    }
}
