/// The headers the product guide (§14) puts on every response of every DCDN server — the
/// coordinator's and the edge's. Each role adds its own Content-Security-Policy.
public enum SecurityHeaders {
    public static let all: [(name: String, value: String)] = [
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "1; mode=block"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
}
