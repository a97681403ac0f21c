extension APIError {
    /// The closed set of codes the API answers errors with (`code` in every error body), listed
    /// in the OpenAPI document's `Error` schema. A struct over a private enum, as
    /// async-http-client spells its errors: adding a code is one line here, and no caller can
    /// make one up.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, CaseIterable, Sendable {
            case acmeDisabled = "acme_disabled"
            case alreadyReseller = "already_reseller"
            case badRequest = "bad_request"
            case bodyTooLarge = "body_too_large"
            case cnameConflict = "cname_conflict"
            case databaseUnavailable = "database_unavailable"
            case conflict = "conflict"
            case constraintViolation = "constraint_violation"
            case creditsNotPurchasable = "credits_not_purchasable"
            case csrfFailed = "csrf_failed"
            case domainTaken = "domain_taken"
            case duplicateRecord = "duplicate_record"
            case emailNotVerified = "email_not_verified"
            case emailTaken = "email_taken"
            case forbidden = "forbidden"
            case idempotencyInProgress = "idempotency_in_progress"
            case insufficientCredits = "insufficient_credits"
            case internalError = "internal_error"
            case invalidCredentials = "invalid_credentials"
            case invalidJson = "invalid_json"
            case invalidSignature = "invalid_signature"
            case invalidToken = "invalid_token"
            case ipNotAllowed = "ip_not_allowed"
            case malformedEvent = "malformed_event"
            case methodNotAllowed = "method_not_allowed"
            case nameTaken = "name_taken"
            case noSubscription = "no_subscription"
            case notAffiliate = "not_affiliate"
            case notFound = "not_found"
            case notReseller = "not_reseller"
            case oidcNotConfigured = "oidc_not_configured"
            case ownPromoCode = "own_promo_code"
            case ownRole = "own_role"
            case paymentProviderError = "payment_provider_error"
            case paymentsNotConfigured = "payments_not_configured"
            case payoutBelowMinimum = "payout_below_minimum"
            case planLimitReached = "plan_limit_reached"
            case planMissing = "plan_missing"
            case promoCodeAlreadyRedeemed = "promo_code_already_redeemed"
            case promoCodeDisabled = "promo_code_disabled"
            case promoCodeExists = "promo_code_exists"
            case promoCodeExpired = "promo_code_expired"
            case promoCodeUsedUp = "promo_code_used_up"
            case rateLimited = "rate_limited"
            case resellerPromoLimit = "reseller_promo_limit"
            case roleNotAssigned = "role_not_assigned"
            case sqlUnavailable = "sql_unavailable"
            case tooManyRecords = "too_many_records"
            case tooManyTokens = "too_many_tokens"
            case unauthorized = "unauthorized"
            case unknownField = "unknown_field"
            case unsupportedMediaType = "unsupported_media_type"
            case validationError = "validation_error"
            case webhookNotConfigured = "webhook_not_configured"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The snake_case text clients see.
        public var description: String { base.rawValue }

        /// Every code, for the OpenAPI document.
        public static var all: [Code] { Base.allCases.map(Code.init) }

        public static let acmeDisabled = Code(.acmeDisabled)
        public static let alreadyReseller = Code(.alreadyReseller)
        public static let badRequest = Code(.badRequest)
        public static let bodyTooLarge = Code(.bodyTooLarge)
        public static let cnameConflict = Code(.cnameConflict)
        public static let databaseUnavailable = Code(.databaseUnavailable)
        public static let conflict = Code(.conflict)
        public static let constraintViolation = Code(.constraintViolation)
        public static let creditsNotPurchasable = Code(.creditsNotPurchasable)
        public static let csrfFailed = Code(.csrfFailed)
        public static let domainTaken = Code(.domainTaken)
        public static let duplicateRecord = Code(.duplicateRecord)
        public static let emailNotVerified = Code(.emailNotVerified)
        public static let emailTaken = Code(.emailTaken)
        public static let forbidden = Code(.forbidden)
        public static let idempotencyInProgress = Code(.idempotencyInProgress)
        public static let insufficientCredits = Code(.insufficientCredits)
        public static let internalError = Code(.internalError)
        public static let invalidCredentials = Code(.invalidCredentials)
        public static let invalidJson = Code(.invalidJson)
        public static let invalidSignature = Code(.invalidSignature)
        public static let invalidToken = Code(.invalidToken)
        public static let ipNotAllowed = Code(.ipNotAllowed)
        public static let malformedEvent = Code(.malformedEvent)
        public static let methodNotAllowed = Code(.methodNotAllowed)
        public static let nameTaken = Code(.nameTaken)
        public static let noSubscription = Code(.noSubscription)
        public static let notAffiliate = Code(.notAffiliate)
        public static let notFound = Code(.notFound)
        public static let notReseller = Code(.notReseller)
        public static let oidcNotConfigured = Code(.oidcNotConfigured)
        public static let ownPromoCode = Code(.ownPromoCode)
        public static let ownRole = Code(.ownRole)
        public static let paymentProviderError = Code(.paymentProviderError)
        public static let paymentsNotConfigured = Code(.paymentsNotConfigured)
        public static let payoutBelowMinimum = Code(.payoutBelowMinimum)
        public static let planLimitReached = Code(.planLimitReached)
        public static let planMissing = Code(.planMissing)
        public static let promoCodeAlreadyRedeemed = Code(.promoCodeAlreadyRedeemed)
        public static let promoCodeDisabled = Code(.promoCodeDisabled)
        public static let promoCodeExists = Code(.promoCodeExists)
        public static let promoCodeExpired = Code(.promoCodeExpired)
        public static let promoCodeUsedUp = Code(.promoCodeUsedUp)
        public static let rateLimited = Code(.rateLimited)
        public static let resellerPromoLimit = Code(.resellerPromoLimit)
        public static let roleNotAssigned = Code(.roleNotAssigned)
        public static let sqlUnavailable = Code(.sqlUnavailable)
        public static let tooManyRecords = Code(.tooManyRecords)
        public static let tooManyTokens = Code(.tooManyTokens)
        public static let unauthorized = Code(.unauthorized)
        public static let unknownField = Code(.unknownField)
        public static let unsupportedMediaType = Code(.unsupportedMediaType)
        public static let validationError = Code(.validationError)
        public static let webhookNotConfigured = Code(.webhookNotConfigured)
    }
}
