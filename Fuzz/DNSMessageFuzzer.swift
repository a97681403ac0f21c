// libFuzzer entry point for the DNS wire-format decoder and encoder: every input must either
// parse and re-encode, or throw DNSWireError — never trap. Built by scripts/fuzz-dns.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let message = try? DNSMessage(bytes: bytes) {
        let encoded = message.encode(maxSize: 512)
        _ = try? DNSMessage(bytes: encoded)
        _ = message.questions.first?.name.key
    }
    return 0
}
