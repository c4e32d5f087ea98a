package review

import (
	"html/template"
	"strings"

	"dsr-intake/register"
	"dsr-intake/register/store"
)

// wordFuncs are the templates' functions that put codes into words.
var wordFuncs = template.FuncMap{
	"history": historyText,
	"decision": func(d register.Decision) string {
		return register.Sentence(d.Outcome, d.Codes())
	},
	// dateField labels a date input for one use.
	"dateField": func(in dateInput, legend, hint string) dateInput {
		in.Legend, in.Hint = legend, hint
		return in
	},
	"words": register.ActionWords,
	"due":   dueWords,
}

// auditFields reads an audit entry's detail, written as key=value pairs
// ("outcome=review reasons=age_18_or_over,best_interest_decision"). A
// value runs to the next " key=", so a free-text reason can hold spaces.
func auditFields(detail string) map[string]string {
	out := map[string]string{}
	words := strings.Fields(detail)
	key := ""
	for _, w := range words {
		if k, v, ok := strings.Cut(w, "="); ok && k != "" && !strings.ContainsAny(k, ",;:") {
			key = k
			out[key] = v
			continue
		}
		if key != "" {
			out[key] += " " + w
		}
	}
	return out
}

// actionWords are a coordinator's actions on a case in plain words.
var actionWords = map[string]string{
	"register_override":    "overrode the rules and added the child to the register",
	"register_confirm_bid": "confirmed the best interest decision and added the child to the register",
	"query":                "asked the referrer for more information",
	"close":                "closed the case",
	"confirm_withdrawal":   "confirmed the withdrawal of consent",
	"reprocess":            "reprocessed the email",
}

func actionText(a string) string {
	if w, ok := actionWords[a]; ok {
		return w
	}
	return strings.ReplaceAll(a, "_", " ")
}

// historyText says what an audit entry records, in a sentence: the
// history a coordinator reads, not the log's codes.
func historyText(e store.AuditEntry) string {
	f := auditFields(e.Detail)
	codes := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	switch e.Action {
	case "message.decide":
		return "Email assessed. " + register.Sentence(register.Outcome(f["outcome"]), codes(f["reasons"])) + "."
	case "review.open":
		return register.Sentence(register.OutcomeReview, codes(f["reasons"])) + "."
	case "review.resolve":
		return "Review finished: " + actionText(f["action"]) + "."
	case "case.create":
		return "Case opened."
	case "case.view":
		return "Case viewed."
	case "case.state":
		return "Case moved from “" + stateText(f["from"]) + "” to “" + stateText(f["to"]) + "”."
	case "case.register":
		return upperFirst(actionText(f["action"])) + "."
	case "case.email":
		return upperFirst(actionText(f["action"])) + "."
	case "case.close":
		s := "Case closed"
		if f["reply"] != "" {
			s += ", with a reply to the referrer"
		}
		return s + "."
	case "case.withdrawal_confirmed":
		return "Withdrawal of consent confirmed; the child's personal data was erased."
	case "case.no_reply":
		return "The referrer did not answer the query in time."
	case "attachment.view":
		return "Attachment viewed."
	case "outbox.queue":
		return "Email to the referrer written (" + strings.ReplaceAll(f["kind"], "_", " ") + ")."
	case "outbox.sent":
		return "Email sent."
	case "outbox.failed":
		return "Email could not be sent."
	case "message.quarantine":
		return "Email could not be processed and was set aside."
	case "record.create":
		return "Added to the register, rated " + f["rag"] + "."
	case "record.view":
		return "Record viewed."
	case "record.rag":
		return "RAG rating changed from " + f["from"] + " to " + f["to"] + "."
	case "record.date":
		return "Date recorded: " + strings.ReplaceAll(f["kind"], "_", " ") + "."
	case "record.withdraw":
		return "Consent withdrawn; personal data erased."
	case "record.export":
		return "Register exported (" + f["format"] + ", " + f["records"] + " records)."
	case "record.list":
		return "Register listed."
	case "record.action":
		s := "Recorded: " + register.ActionWords(f["kind"])
		if f["variant"] != "" {
			s += " (" + strings.ToLower(register.ActionWords(f["variant"])) + ")"
		}
		return s + "."
	case "case.list":
		return "Review queue viewed (" + f["shown"] + " cases)."
	case "audit.export":
		return "Audit exported (" + f["rows"] + " entries)."
	case "user.signin":
		return "Signed in."
	case "user.signin_failed":
		return "Sign-in failed."
	case "user.signout":
		return "Signed out."
	case "user.add":
		return "Account added (" + f["role"] + ")."
	case "user.update":
		return "Account changed."
	}
	s := strings.ReplaceAll(e.Action, ".", ": ")
	s = strings.ReplaceAll(s, "_", " ")
	return upperFirst(s) + "."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
