import ClaimFlowCore
import Foundation
import Testing

@Suite("Denial routing: matching semantics")
struct DenialRoutingTests {
    static func reason(_ code: String) -> DenialReason {
        let parts = code.split(separator: "-", maxSplits: 1).map(String.init)
        return DenialReason(groupCode: parts[0], reasonCode: parts[1])
    }

    static func rule(
        _ id: Int, _ group: String? = nil, _ carc: String? = nil, rarc: String? = nil, payer: String? = nil,
        precedence: Int = 100, _ queue: DenialQueue = .billing, _ action: DenialAction = .appeal
    ) -> DenialRule {
        DenialRule(
            id: id, groupCode: group, reasonCode: carc, remarkCode: rarc, payerID: payer, precedence: precedence, queue: queue,
            action: action, description: "rule \(id)"
        )
    }

    static func route(
        _ reasons: [String], remarks: [String] = [], payer: String? = nil, _ rules: [DenialRule]
    ) -> DenialRoute? {
        DenialRouting.route(reasons: reasons.map(reason), remarkCodes: remarks, payerID: payer, rules: rules)
    }

    @Test("nothing matches: nil, also for no reasons and for no rules")
    func nothingMatches() {
        let rules = [Self.rule(1, "CO", "11"), Self.rule(2, "PR", nil)]
        #expect(Self.route(["CO-16"], rules) == nil)
        #expect(Self.route(["OA-11"], rules) == nil)
        #expect(Self.route([], remarks: ["M76"], payer: "P1", rules) == nil)
        #expect(Self.route(["CO-11"], []) == nil)
    }

    @Test("each non-nil field must equal; nil fields match anything")
    func fieldsMatch() {
        let anyGroup = Self.rule(1, nil, "97")
        #expect(Self.route(["PI-97"], [anyGroup])?.rule.id == 1)
        #expect(Self.route(["CO-97"], [anyGroup])?.rule.id == 1)
        #expect(Self.route(["CO-96"], [anyGroup]) == nil)
        let everything = Self.rule(2)
        #expect(Self.route(["CR-1"], remarks: ["N1"], payer: "P1", [everything])?.rule.id == 2)
        #expect(everything.specificity == 0)
        #expect(Self.rule(3, "CO", "16", rarc: "M76", payer: "P1").specificity == 4)
    }

    @Test("the lowest precedence wins, whatever the specificity and the order of the rules")
    func precedenceWins() {
        let general = Self.rule(7, "CO", nil, precedence: 10, .billing, .noResend)
        let specific = Self.rule(3, "CO", "16", rarc: "M76", payer: "P1", precedence: 20, .coding, .correctedClaim)
        for rules in [[general, specific], [specific, general]] {
            let route = Self.route(["CO-16"], remarks: ["M76"], payer: "P1", rules)
            #expect(route?.rule == general)
            #expect(route?.queue == .billing && route?.action == .noResend)
        }
    }

    @Test("at one precedence the more specific rule wins, then the lower id")
    func specificityThenID() {
        let catchAll = Self.rule(1, "CO", nil)
        let carc = Self.rule(5, "CO", "16", .billing, .correctedClaim)
        let withRemark = Self.rule(9, "CO", "16", rarc: "M76", .coding, .correctedClaim)
        let rules = [catchAll, carc, withRemark]
        #expect(Self.route(["CO-16"], remarks: ["M76"], rules)?.rule.id == 9)
        #expect(Self.route(["CO-16"], rules)?.rule.id == 5)
        #expect(Self.route(["CO-45"], rules)?.rule.id == 1)

        let twin = Self.rule(4, "CO", "16", rarc: "MA130", .billing, .newOriginal)
        for order in [rules + [twin], [twin] + rules.reversed()] {
            #expect(Self.route(["CO-16"], remarks: ["M76", "MA130"], order)?.rule.id == 4)
        }
    }

    @Test("a rule with a RARC matches only when the claim carries that RARC")
    func remarkRequired() {
        let rules = [
            Self.rule(1, "CO", "16", rarc: "M76", precedence: 10, .coding, .correctedClaim),
            Self.rule(2, "CO", "16", precedence: 20, .billing, .correctedClaim),
        ]
        #expect(Self.route(["CO-16"], rules)?.rule.id == 2)
        #expect(Self.route(["CO-16"], remarks: ["N290"], rules)?.rule.id == 2)
        #expect(Self.route(["CO-16"], remarks: ["N290", "M76"], rules)?.rule.id == 1)
        #expect(Self.route(["CO-16"], remarks: ["m76"], rules)?.rule.id == 2)
        #expect(Self.route(["CO-16"], remarks: ["M76"], [rules[0]])?.rule.id == 1)
        #expect(Self.route(["CO-16"], remarks: [], [rules[0]]) == nil)
    }

    @Test("a payer's own rule beats the general one at the same precedence, and only for that payer")
    func payerSpecific() {
        let general = Self.rule(1, "CO", "29", precedence: 30, .billing, .appeal)
        let payerOwn = Self.rule(2, "CO", "29", payer: "MEDICAID1", precedence: 30, .billing, .writeOff)
        let rules = [general, payerOwn]
        #expect(Self.route(["CO-29"], payer: "MEDICAID1", rules)?.action == .writeOff)
        #expect(Self.route(["CO-29"], payer: "AETNA", rules)?.action == .appeal)
        #expect(Self.route(["CO-29"], payer: nil, rules)?.action == .appeal)
        #expect(Self.route(["CO-29"], payer: "AETNA", [payerOwn]) == nil)
        #expect(Self.route(["CO-29"], payer: nil, [payerOwn]) == nil)
    }

    @Test("with several reasons the best pair wins, and the route names the reason its rule matched")
    func severalReasons() {
        let rules = [
            Self.rule(1, "CO", "18", precedence: 10, .billing, .noResend),
            Self.rule(2, "CO", "11", precedence: 100, .coding, .correctedClaim),
            Self.rule(3, "PR", "1", precedence: 300, .patient, .billPatient),
            Self.rule(4, "CO", nil, precedence: 900, .billing, .appeal),
        ]
        let coding = Self.route(["CO-45", "PR-1", "CO-11"], rules)
        #expect(coding?.rule.id == 2)
        #expect(coding?.reason == DenialReason(groupCode: "CO", reasonCode: "11"))
        #expect(Self.route(["CO-11", "CO-18"], rules)?.reason.reasonCode == "18")
        #expect(Self.route(["CO-45", "PR-1"], rules)?.queue == .patient)
        // One rule matching two reasons names the first, in the order given.
        let catchAll = Self.route(["CO-45", "CO-253"], rules)
        #expect(catchAll?.rule.id == 4)
        #expect(catchAll?.reason.reasonCode == "45")
    }

    @Test("a group code is not a CARC: PR-11 is not CO-11")
    func groupMatters() {
        let rules = [Self.rule(1, "CO", "11", .coding, .correctedClaim), Self.rule(2, "PR", nil, precedence: 900, .patient, .billPatient)]
        #expect(Self.route(["CO-11"], rules)?.queue == .coding)
        #expect(Self.route(["PR-11"], rules)?.queue == .patient)
    }

    @Test("resending actions name their claim frequency code; the others send nothing")
    func frequencyCodes() {
        let codes = Dictionary(uniqueKeysWithValues: DenialAction.allCases.map { ($0, $0.frequencyCode) })
        #expect(
            codes == [
                .correctedClaim: "7", .newOriginal: "1", .eligibilityReview: "1", .void: "8",
                .appeal: nil, .writeOff: nil, .billPatient: nil, .noResend: nil,
            ])
    }

    @Test("queue and action raw values are the database's words")
    func rawValues() throws {
        #expect(DenialQueue.allCases.map(\.rawValue) == ["coding", "billing", "patient"])
        #expect(
            DenialAction.allCases.map(\.rawValue) == [
                "corrected_claim", "new_original", "void", "appeal", "write_off", "bill_patient", "eligibility_review", "no_resend",
            ])
        let rule = Self.rule(1, "CO", "16", rarc: "M76", .coding, .correctedClaim)
        let json = String(decoding: try JSONEncoder().encode(rule), as: UTF8.self)
        #expect(json.contains(#""action":"corrected_claim""#))
        #expect(try JSONDecoder().decode(DenialRule.self, from: Data(json.utf8)) == rule)
    }
}
