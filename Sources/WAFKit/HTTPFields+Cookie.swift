import HTTPTypes

extension HTTPFields {
    /// The value of the request cookie `name` (RFC 6265 §5.4 `Cookie` header), or nil.
    package func cookie(_ name: String) -> String? {
        for header in self[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                if trimmed.hasPrefix(name + "=") { return String(trimmed.dropFirst(name.count + 1)) }
            }
        }
        return nil
    }
}
