package server

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/store"
)

// Datasets: upload (CSV or multipart), list, get.

type datasetView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	NSamples   int       `json:"n_samples"`
	NFeatures  int       `json:"n_features"`
	FileFormat string    `json:"file_format"`
	CreatedAt  time.Time `json:"created_at"`
}

func viewDataset(d *store.Dataset) datasetView {
	return datasetView{ID: d.ID, Name: d.Name, NSamples: d.NSamples, NFeatures: d.NFeatures, FileFormat: d.FileFormat, CreatedAt: d.CreatedAt}
}

// createDataset stores a CSV dataset sent as the body (text/csv) or as the "file" part of a
// multipart form. ?label=COL names a label column that is left out of the stored features;
// ?name= names the dataset.
func (s *Server) createDataset(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	name, label := q.Get("name"), q.Get("label")
	var body io.Reader = r.Body
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return jsonOrForm(err)
		}
		defer f.Close()
		body = f
		if name == "" {
			name = hdr.Filename
		}
		if v := r.FormValue("label"); v != "" && label == "" {
			label = v
		}
	case "text/csv", "application/csv", "text/plain", "application/octet-stream", "":
	default:
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupported, "content type %q: send text/csv or multipart/form-data with a \"file\" part", mt)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return jsonOrForm(err)
	}
	t, err := dataset.ReadCSV(bytes.NewReader(raw), dataset.CSVOptions{Label: label, Name: "dataset"})
	if err != nil {
		return toAPI(err)
	}
	if t.X.Rows == 0 {
		return errorf(http.StatusBadRequest, CodeInvalidData, "dataset has a header but no rows")
	}
	data := raw
	if label != "" {
		data = encodeCSV(t)
	}
	if name == "" {
		name = "dataset"
	}
	d := &store.Dataset{Name: name, NSamples: t.X.Rows, NFeatures: t.X.Cols, FileFormat: "csv", Data: data}
	if err := s.store.CreateDataset(r.Context(), d); err != nil {
		return toAPI(err)
	}
	w.Header().Set("Location", "/api/v1/datasets/"+d.ID)
	writeJSON(w, http.StatusCreated, viewDataset(d))
	return nil
}

// jsonOrForm maps a body-reading error: over the limit, or a bad form.
func jsonOrForm(err error) *apiError {
	if e := bodyError(err); e != nil {
		return e
	}
	if errors.Is(err, http.ErrMissingFile) {
		return errorf(http.StatusBadRequest, CodeBadRequest, "the multipart form has no \"file\" part: send the CSV as the part named file")
	}
	return errorf(http.StatusBadRequest, CodeBadRequest, "the upload is not a well-formed multipart form: %s", plain(err))
}

// encodeCSV writes t's features as CSV, each value in the shortest form that reads back
// exactly.
func encodeCSV(t *dataset.Table) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(t.Columns, ","))
	b.WriteByte('\n')
	buf := make([]byte, 0, 32)
	for i := range t.X.Rows {
		for j, v := range t.X.Row(i) {
			if j > 0 {
				b.WriteByte(',')
			}
			b.Write(strconv.AppendFloat(buf[:0], v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request) *apiError {
	d, err := s.store.GetDataset(r.Context(), r.PathValue("id"))
	if err != nil {
		return toAPI(err)
	}
	writeJSON(w, http.StatusOK, viewDataset(d))
	return nil
}

func (s *Server) listDatasets(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	f := store.DatasetFilter{FileFormat: q.Get("file_format")}
	if f.Limit, f.Offset, e = paging(q.Get("limit"), q.Get("offset")); e != nil {
		return e
	}
	ds, err := s.store.ListDatasets(r.Context(), f)
	if err != nil {
		return toAPI(err)
	}
	out := make([]datasetView, len(ds))
	for i, d := range ds {
		out[i] = viewDataset(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"datasets": out})
	return nil
}
