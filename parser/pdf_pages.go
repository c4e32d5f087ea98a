package parser

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/ledongthuc/pdf"
)

// objID returns the identity (object number and generation) of the
// indirect object a Value was loaded from. pdf.Value keeps it in an
// unexported field; reading it by reflection is the only way to detect
// reference cycles and to match a widget's /P with a page. ok is false when
// the library no longer has the field (TestObjIDWorks catches that) or the
// value has no object behind it.
func objID(v pdf.Value) (id uint64, ok bool) {
	f := pdfValueFields
	if f.ptr < 0 || f.id < 0 || f.gen < 0 {
		return 0, false
	}
	ptr := reflect.ValueOf(v).Field(f.ptr)
	num, gen := ptr.Field(f.id), ptr.Field(f.gen)
	if !num.CanUint() || !gen.CanUint() || num.Uint() == 0 {
		return 0, false
	}
	return num.Uint()<<16 | gen.Uint(), true
}

// valueFields are the indexes of the unexported fields of pdf.Value (and
// of its object reference) that objID, refID and elemRefID read, looked up
// by name once: FieldByName searched for them at every call, 5% of
// reading a fillable form. -1 when the library no longer has the field.
type valueFields struct {
	ptr, data int          // in pdf.Value: the object reference, the value
	ptrType   reflect.Type // the object reference's type
	id, gen   int          // in the object reference
}

// pdfValueFields is read only: worked out once from the library's types.
var pdfValueFields = lookUpValueFields()

func lookUpValueFields() valueFields {
	f := valueFields{ptr: -1, data: -1, id: -1, gen: -1}
	t := reflect.TypeOf(pdf.Value{})
	if sf, ok := t.FieldByName("data"); ok && len(sf.Index) == 1 {
		f.data = sf.Index[0]
	}
	sf, ok := t.FieldByName("ptr")
	if !ok || len(sf.Index) != 1 || sf.Type.Kind() != reflect.Struct {
		return f
	}
	f.ptr, f.ptrType = sf.Index[0], sf.Type
	if id, ok := sf.Type.FieldByName("id"); ok && len(id.Index) == 1 {
		f.id = id.Index[0]
	}
	if gen, ok := sf.Type.FieldByName("gen"); ok && len(gen.Index) == 1 {
		f.gen = gen.Index[0]
	}
	return f
}

// refID returns the identity of the indirect object that a dictionary's
// (or a stream dictionary's) entry refers to, without loading it: the
// library parses the object again at every Key. ok is false for a direct
// value, a missing key, or when reflection finds no such fields
// (TestRefIDWorks catches that).
func refID(d pdf.Value, key string) (id uint64, ok bool) {
	if pdfValueFields.data < 0 {
		return 0, false
	}
	data := reflect.ValueOf(d).Field(pdfValueFields.data)
	if data.Kind() != reflect.Interface || data.IsNil() {
		return 0, false
	}
	m := data.Elem()
	if m.Kind() == reflect.Struct { // a stream: its dictionary
		m = m.FieldByName("hdr")
	}
	if m.Kind() != reflect.Map || m.Type().Key().Kind() != reflect.String {
		return 0, false
	}
	return ptrID(m.MapIndex(reflect.ValueOf(key).Convert(m.Type().Key())))
}

// elemRefID is refID for an array's element: the identity of the object
// element i refers to, without loading it.
func elemRefID(a pdf.Value, i int) (id uint64, ok bool) {
	if pdfValueFields.data < 0 {
		return 0, false
	}
	data := reflect.ValueOf(a).Field(pdfValueFields.data)
	if data.Kind() != reflect.Interface || data.IsNil() {
		return 0, false
	}
	arr := data.Elem()
	if arr.Kind() != reflect.Slice || i < 0 || i >= arr.Len() {
		return 0, false
	}
	return ptrID(arr.Index(i))
}

// ptrID reads the object number and generation of x, an object
// reference or an interface holding one.
func ptrID(x reflect.Value) (id uint64, ok bool) {
	f := pdfValueFields
	if x.IsValid() && x.Kind() == reflect.Interface {
		x = x.Elem()
	}
	if !x.IsValid() || f.ptrType == nil || x.Type() != f.ptrType || f.id < 0 || f.gen < 0 {
		return 0, false
	}
	num, gen := x.Field(f.id), x.Field(f.gen)
	if !num.CanUint() || !gen.CanUint() || num.Uint() == 0 {
		return 0, false
	}
	return num.Uint()<<16 | gen.Uint(), true
}

// Bounds of the page tree walk. A balanced tree is a few levels deep,
// but some writers nest a node per page: the depth is bounded by the node
// count, which is bounded by the page limit.
const (
	maxPageTreeDepth = 1000
)

// collectPages walks the /Pages tree in document order. It replaces
// Reader.Page, which re-walks the tree for every page (O(n²)) and spins
// forever on a /Kids cycle. A cycle is a node found among its own
// ancestors, by object identity; a page listed twice is read twice, as
// viewers show it. The node count and depth are bounded as well, for when
// identity is unavailable and against a tree that lists a node many times.
func collectPages(root pdf.Value, maxPages int) ([]pdf.Page, error) {
	if root.Kind() != pdf.Dict {
		return nil, unreadable(ReasonPDFDamaged, errors.New("no /Pages tree"))
	}
	if n := root.Key("Count").Int64(); n > int64(maxPages) {
		return nil, unreadable(ReasonPDFTooManyPages, fmt.Errorf("%d pages (at most %d are read)", n, maxPages))
	}
	var pages []pdf.Page
	onPath := map[uint64]bool{}
	nodes, maxNodes := 0, 4*maxPages+64
	// ref is the node's identity when its parent's /Kids refers to it: a
	// node that lists itself cannot be told from a direct kid by objID.
	var walk func(node pdf.Value, ref, parent uint64, depth int) error
	walk = func(node pdf.Value, ref, parent uint64, depth int) error {
		nodes++
		if depth > maxPageTreeDepth || nodes > maxNodes {
			return unreadable(ReasonPDFDamaged, errors.New("page tree too deep or too large"))
		}
		// A direct object shares its container's id and cannot start a
		// cycle by itself.
		id, ok := ref, ref != 0
		if !ok {
			id, ok = objID(node)
			ok = ok && id != parent
		}
		if ok {
			if onPath[id] {
				return unreadable(ReasonPDFDamaged, errors.New("page tree has a cycle"))
			}
			onPath[id] = true
			defer delete(onPath, id)
			parent = id
		}
		kids := node.Key("Kids")
		if node.Key("Type").Name() == "Page" || (kids.Kind() != pdf.Array && node.Kind() == pdf.Dict && depth > 0) {
			pages = append(pages, pdf.Page{V: node})
			if len(pages) > maxPages {
				return unreadable(ReasonPDFTooManyPages, fmt.Errorf("more than %d pages", maxPages))
			}
			return nil
		}
		for i := 0; i < kids.Len(); i++ {
			kid, _ := elemRefID(kids, i)
			if err := walk(kids.Index(i), kid, parent, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, 0, 0, 0); err != nil {
		return nil, err
	}
	return pages, nil
}
