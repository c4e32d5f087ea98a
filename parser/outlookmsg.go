package parser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/richardlehane/mscfb"
)

// A referrer who forwards an earlier email "as an attachment" from
// Outlook on the desktop, or drags a saved email into a new one, sends an
// Outlook item (.msg): a compound file whose attachments are storages
// named __attach_version1.0_#N, each holding MAPI properties as streams
// named by property id and type. The forms are those attachments; as with
// a forwarded message/rfc822, they are read as the email's own. The
// compound file itself is read with richardlehane/mscfb; the property
// streams are plain bytes.

// isOutlookMsg recognises an Outlook item: a compound file with MAPI
// property streams (a Word or Excel file has none).
func isOutlookMsg(d []byte) bool {
	return bytes.HasPrefix(d, []byte(docxCFBHeader)) && bytes.Contains(d, utf16LE("__substg1.0_"))
}

// isOutlookPart recognises an attached Outlook item by its content, or a
// compound file declared or named one (too damaged to show its streams).
func isOutlookPart(pt *part) bool {
	if isOutlookMsg(pt.data) {
		return true
	}
	declared := pt.mediaType == "application/vnd.ms-outlook" || strings.HasSuffix(strings.ToLower(pt.filename), ".msg")
	return declared && bytes.HasPrefix(pt.data, []byte(docxCFBHeader))
}

const (
	msgAttachPrefix = "__attach_version1.0_#"
	msgPropPrefix   = "__substg1.0_"
	// An embedded message's storage: PR_ATTACH_DATA_OBJ as PT_OBJECT.
	msgEmbedded = "__substg1.0_3701000D"
	// maxMsgEntries bounds the directory entries walked.
	maxMsgEntries = 10000
)

// readOutlookMsg lists the files attached to an Outlook item, those of
// items embedded in it included, at most max of them. Every stream read
// counts against a budget of the item's own size: a compound file cannot
// hold more than it is, whatever its directory claims.
func readOutlookMsg(d []byte, max int) (files []tnefFile, err error) {
	defer func() {
		// mscfb is a third party's parser of hostile input: a panic in it
		// is this attachment's error, not the intake's.
		if r := recover(); r != nil {
			files, err = nil, fmt.Errorf("outlook item: the compound file reader failed: %v", r)
		}
	}()
	doc, err := mscfb.New(bytes.NewReader(d))
	if err != nil {
		return nil, fmt.Errorf("outlook item: %w", err)
	}
	type attach struct {
		names map[string]string // by property id: long name, display name, short name
		data  []byte
	}
	byKey := map[string]*attach{}
	var order []string
	budget := int64(len(d))
	entries := 0
	for f, nerr := doc.Next(); nerr == nil; f, nerr = doc.Next() {
		if entries++; entries > maxMsgEntries {
			return nil, errors.New("outlook item: too many entries")
		}
		// The attachment a property belongs to is its nearest
		// __attach storage; the path above it keys it apart from the same
		// numbered attachment of an embedded item.
		i := lastIndexFunc(f.Path, func(s string) bool { return strings.HasPrefix(s, msgAttachPrefix) })
		if i < 0 || len(f.Path) != i+1 || !strings.HasPrefix(f.Name, msgPropPrefix) || f.FileInfo().IsDir() {
			continue
		}
		prop := strings.ToUpper(strings.TrimPrefix(f.Name, msgPropPrefix))
		id, typ := prop[:min(4, len(prop))], prop[min(4, len(prop)):]
		want := id == "3701" && typ == "0102" ||
			(id == "3707" || id == "3001" || id == "3704") && (typ == "001F" || typ == "001E")
		if !want {
			continue
		}
		if f.Size < 0 || f.Size > budget {
			return nil, fmt.Errorf("outlook item: a stream of %d bytes in a file of %d", f.Size, len(d))
		}
		budget -= f.Size
		b := make([]byte, f.Size)
		if _, err := io.ReadFull(f, b); err != nil {
			return nil, fmt.Errorf("outlook item: read %s: %w", f.Name, err)
		}
		key := strings.Join(f.Path, "/")
		a := byKey[key]
		if a == nil {
			a = &attach{names: map[string]string{}}
			byKey[key] = a
			order = append(order, key)
		}
		switch {
		case id == "3701":
			a.data = b
		case typ == "001F":
			a.names[id] = tnefUnicode(b)
		default:
			a.names[id] = tnefString8(b)
		}
	}
	// The directory is walked as a tree: attachments keep the order of
	// their numbers within each item.
	slices.Sort(order)
	for _, key := range order {
		a := byKey[key]
		if a.data == nil {
			continue // an embedded item: its own attachments are listed
		}
		if len(files) >= max {
			break
		}
		name := ""
		for _, id := range []string{"3707", "3001", "3704"} {
			if name = a.names[id]; name != "" {
				break
			}
		}
		files = append(files, tnefFile{name: name, data: a.data})
	}
	return files, nil
}

func lastIndexFunc(s []string, f func(string) bool) int {
	for i := len(s) - 1; i >= 0; i-- {
		if f(s[i]) {
			return i
		}
	}
	return -1
}
