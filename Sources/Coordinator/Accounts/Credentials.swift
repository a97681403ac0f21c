import Foundation

/// Email addresses as accounts use them: trimmed, lower-cased, and plausibly deliverable.
public enum EmailAddress {
    /// The normalised address, or a validation error naming `field`.
    public static func normalise(_ raw: String, field: String = "email") throws -> String {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard email.utf8.count <= 254 else { throw APIError.validation(field, "is longer than 254 characters") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw APIError.validation(field, "must be an email address like name@example.com") }
        let local = parts[0]
        let domain = parts[1]
        let localAllowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "!#$%&'*+/=?^_`{|}~.-"))
        guard (1...64).contains(local.count), local.unicodeScalars.allSatisfy({ $0.isASCII && localAllowed.contains($0) }),
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { throw APIError.validation(field, "must be an email address like name@example.com") }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let labelsValid =
            labels.count >= 2
            && labels.allSatisfy { label in
                (1...63).contains(label.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }
            }
            && labels.last!.count >= 2 && labels.last!.allSatisfy(\.isLetter)
        guard labelsValid else { throw APIError.validation(field, "must be an email address with a real domain, like name@example.com") }
        return email
    }
}

/// What a password must be. Length over composition rules (NIST SP 800-63B), with the bcrypt
/// 72-byte ceiling made explicit instead of silently truncating.
public enum PasswordPolicy {
    public static let minimumLength = 10
    public static let maximumBytes = 72

    static let common: Set<String> = [
        "password", "password1", "password12", "password123", "password1234", "1234567890", "12345678910",
        "qwertyuiop", "qwerty1234", "qwerty12345", "iloveyou12", "letmein123", "welcome123", "admin12345",
        "administrator", "changeme123", "passw0rd123", "abc1234567", "1q2w3e4r5t", "zaq12wsxcde", "football123",
        "baseball123", "monkey1234", "dragon1234", "sunshine12", "trustno1234", "0987654321", "1111111111",
        "aaaaaaaaaa", "qazwsxedcrfv",
    ]

    public static func check(_ password: String, email: String?, field: String = "password") throws {
        guard password.count >= minimumLength else {
            throw APIError.validation(field, "must be at least \(minimumLength) characters")
        }
        guard password.utf8.count <= maximumBytes else {
            throw APIError.validation(field, "must be at most \(maximumBytes) bytes")
        }
        guard Set(password).count >= 4 else {
            throw APIError.validation(field, "must use at least 4 different characters")
        }
        guard !common.contains(password.lowercased()) else {
            throw APIError.validation(field, "is one of the most common passwords; choose another")
        }
        if let local = email?.split(separator: "@").first, local.count >= 4,
            password.lowercased().contains(local.lowercased())
        {
            throw APIError.validation(field, "must not contain your email address")
        }
    }
}
