package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nfnt/resize"
)

// GTSRB, the German Traffic Sign Recognition Benchmark (Stallkamp et al.,
// "Man vs. computer: Benchmarking machine learning algorithms for traffic
// sign recognition", Neural Networks 32, 2012), as distributed from
// https://benchmark.ini.rub.de/gtsrb_dataset.html:
//
//	GTSRB_Final_Training_Images.zip: GTSRB/Final_Training/Images/<class>/GT-<class>.csv + *.ppm
//	GTSRB_Final_Test_Images.zip:     GTSRB/Final_Test/Images/GT-final_test.test.csv + *.ppm (no ClassId)
//	GTSRB_Final_Test_GT.zip:         GT-final_test.csv (the same rows with ClassId)
//
// The CSV files are separated by ';' with the header
// Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2[;ClassId].
const (
	gtsrbNumClasses = 43
	gtsrbURL        = "https://benchmark.ini.rub.de/gtsrb_dataset.html"
	gtsrbTestCSV    = "GT-final_test.csv"
	gtsrbNoClassCSV = "GT-final_test.test.csv"
	// gtsrbMaxCoord bounds ROI coordinates; GTSRB images are at most 250x250.
	gtsrbMaxCoord = 1 << 16
)

// gtsrbClassNames returns the 43 class names in ClassId order, as given in
// the signnames.csv that commonly accompanies the dataset.
func gtsrbClassNames() []string {
	return []string{
		"Speed limit (20km/h)",
		"Speed limit (30km/h)",
		"Speed limit (50km/h)",
		"Speed limit (60km/h)",
		"Speed limit (70km/h)",
		"Speed limit (80km/h)",
		"End of speed limit (80km/h)",
		"Speed limit (100km/h)",
		"Speed limit (120km/h)",
		"No passing",
		"No passing for vehicles over 3.5 metric tons",
		"Right-of-way at the next intersection",
		"Priority road",
		"Yield",
		"Stop",
		"No vehicles",
		"Vehicles over 3.5 metric tons prohibited",
		"No entry",
		"General caution",
		"Dangerous curve to the left",
		"Dangerous curve to the right",
		"Double curve",
		"Bumpy road",
		"Slippery road",
		"Road narrows on the right",
		"Road work",
		"Traffic signals",
		"Pedestrians",
		"Children crossing",
		"Bicycles crossing",
		"Beware of ice/snow",
		"Wild animals crossing",
		"End of all speed and passing limits",
		"Turn right ahead",
		"Turn left ahead",
		"Ahead only",
		"Go straight or right",
		"Go straight or left",
		"Keep right",
		"Keep left",
		"Roundabout mandatory",
		"End of no passing",
		"End of no passing by vehicles over 3.5 metric tons",
	}
}

// gtsrbRecord is one annotation row: an image file, the sign's region and
// its class (-1 when the file has no ClassId column).
type gtsrbRecord struct {
	file  string
	roi   image.Rectangle
	class int
}

// LoadGTSRB reads the "train" (39,209 images) or "test" (12,630 images) split
// of GTSRB, crops every image to its annotated sign region and resizes the
// crop to size x size with bilinear interpolation. Images are size x size x 3.
//
// dir is the extracted GTSRB directory (holding Final_Training and
// Final_Test) or its parent. The test labels come from GT-final_test.csv
// (GTSRB_Final_Test_GT.zip), looked up in GTSRB/Final_Test/Images, in GTSRB
// and in dir; the GT-final_test.test.csv shipped with the test images has no
// labels and is not enough.
//
// The ROI's Roi.X2 and Roi.Y2 are taken as exclusive: with that reading the
// margin around the sign is the documented "at least 5 pixels" on all four
// sides (e.g. a 30x30 image with ROI 5,5,25,25). The ROI is clipped to the
// decoded image; the Width and Height columns are not used, since releases
// before January 2011 had them off by one.
func LoadGTSRB(dir, split string, size int) (*Dataset, error) {
	if size <= 0 {
		return nil, fmt.Errorf("gtsrb: image size %d is not positive", size)
	}
	var (
		recs []gtsrbRecord
		err  error
	)
	switch split {
	case "train":
		recs, err = gtsrbTrainRecords(dir)
	case "test":
		recs, err = gtsrbTestRecords(dir)
	default:
		return nil, fmt.Errorf("gtsrb: unknown split %q (want \"train\" or \"test\")", split)
	}
	if err != nil {
		return nil, err
	}
	d := &Dataset{
		Name:    "gtsrb/" + split,
		Classes: gtsrbClassNames(),
		Height:  size, Width: size, Channels: 3,
		Images: make([]float32, 0, len(recs)*size*size*3),
		Labels: make([]int, 0, len(recs)),
	}
	for _, rec := range recs {
		img, err := readPPMFile(rec.file)
		if err != nil {
			return nil, fmt.Errorf("gtsrb: %w", err)
		}
		roi := rec.roi.Intersect(img.Bounds())
		if roi.Empty() {
			return nil, fmt.Errorf("gtsrb: %s: ROI %v lies outside the %v image", rec.file, rec.roi, img.Bounds().Size())
		}
		d.Images = appendResizedRGB(d.Images, img, roi, size, size)
		d.Labels = append(d.Labels, rec.class)
	}
	return d, d.Validate()
}

// gtsrbRoot returns dir or dir/GTSRB, whichever holds sub (a path such as
// Final_Training/Images), or "" when neither does.
func gtsrbRoot(dir, sub string) string {
	for _, d := range []string{dir, filepath.Join(dir, "GTSRB")} {
		if fi, err := os.Stat(filepath.Join(d, sub)); err == nil && fi.IsDir() {
			return d
		}
	}
	return ""
}

// gtsrbTrainRecords reads the per-class annotation files of the training set
// and returns the records with full image paths, class by class.
func gtsrbTrainRecords(dir string) ([]gtsrbRecord, error) {
	layout := fmt.Sprintf("want GTSRB/Final_Training/Images/<class 00000..00042>/GT-<class>.csv beside the class's .ppm images "+
		"(GTSRB_Final_Training_Images.zip from %s)", gtsrbURL)
	sub := filepath.Join("Final_Training", "Images")
	root := gtsrbRoot(dir, sub)
	if root == "" {
		return nil, fmt.Errorf("gtsrb: no %s in %s or %s; %s", sub, dir, filepath.Join(dir, "GTSRB"), layout)
	}
	images := filepath.Join(root, sub)
	entries, err := os.ReadDir(images)
	if err != nil {
		return nil, fmt.Errorf("gtsrb: %w", err)
	}
	var recs []gtsrbRecord
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || len(name) != 5 || strings.Trim(name, "0123456789") != "" {
			continue
		}
		class, _ := strconv.Atoi(name)
		if class >= gtsrbNumClasses {
			return nil, fmt.Errorf("gtsrb: class directory %s: GTSRB has classes 00000..%05d", filepath.Join(images, name), gtsrbNumClasses-1)
		}
		classDir := filepath.Join(images, name)
		path := filepath.Join(classDir, "GT-"+name+".csv")
		rows, hasClass, err := readGTSRBCSVFile(path)
		if err != nil {
			return nil, err
		}
		if !hasClass {
			return nil, fmt.Errorf("gtsrb: %s has no ClassId column", path)
		}
		for _, r := range rows {
			if r.class != class {
				return nil, fmt.Errorf("gtsrb: %s: %s has ClassId %d but lies in class directory %s", path, r.file, r.class, name)
			}
			r.file = filepath.Join(classDir, r.file)
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("gtsrb: no annotated images in %s; %s", images, layout)
	}
	return recs, nil
}

// gtsrbTestRecords finds and reads GT-final_test.csv and returns its records
// with full image paths.
func gtsrbTestRecords(dir string) ([]gtsrbRecord, error) {
	sub := filepath.Join("Final_Test", "Images")
	root := gtsrbRoot(dir, sub)
	if root == "" {
		return nil, fmt.Errorf("gtsrb: no %s in %s or %s; want GTSRB/Final_Test/Images/*.ppm (GTSRB_Final_Test_Images.zip) "+
			"and %s with labels (GTSRB_Final_Test_GT.zip), both from %s", sub, dir, filepath.Join(dir, "GTSRB"), gtsrbTestCSV, gtsrbURL)
	}
	images := filepath.Join(root, sub)
	candidates := []string{filepath.Join(images, gtsrbTestCSV), filepath.Join(root, gtsrbTestCSV)}
	if root != dir {
		candidates = append(candidates, filepath.Join(dir, gtsrbTestCSV))
	}
	for _, path := range candidates {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		rows, hasClass, err := readGTSRBCSVFile(path)
		if err != nil {
			return nil, err
		}
		if !hasClass {
			return nil, fmt.Errorf("gtsrb: %s has no ClassId column; the labelled file comes in GTSRB_Final_Test_GT.zip from %s", path, gtsrbURL)
		}
		for i := range rows {
			rows[i].file = filepath.Join(images, rows[i].file)
		}
		return rows, nil
	}
	if _, err := os.Stat(filepath.Join(images, gtsrbNoClassCSV)); err == nil {
		return nil, fmt.Errorf("gtsrb: %s has no labels; put %s from GTSRB_Final_Test_GT.zip (%s) in %s",
			filepath.Join(images, gtsrbNoClassCSV), gtsrbTestCSV, gtsrbURL, images)
	}
	return nil, fmt.Errorf("gtsrb: none of %s exists; %s comes in GTSRB_Final_Test_GT.zip from %s",
		strings.Join(candidates, ", "), gtsrbTestCSV, gtsrbURL)
}

// readGTSRBCSVFile parses one annotation file, naming it in errors.
func readGTSRBCSVFile(path string) ([]gtsrbRecord, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("gtsrb: %w", err)
	}
	defer f.Close()
	recs, hasClass, err := parseGTSRBCSV(f)
	if err != nil {
		return nil, false, fmt.Errorf("gtsrb: %s: %w", path, err)
	}
	return recs, hasClass, nil
}

// parseGTSRBCSV parses a GTSRB annotation file. Columns are found by their
// header name (case-insensitively); Filename and the four Roi columns are
// required and ClassId is optional, reported by hasClass. File names must
// be plain names inside the annotation file's directory.
func parseGTSRBCSV(r io.Reader) (recs []gtsrbRecord, hasClass bool, err error) {
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, false, errors.New("empty file, want a header line")
	}
	if err != nil {
		return nil, false, err
	}
	header = slices.Clone(header) // ReuseRecord would overwrite it
	want := []string{"filename", "roi.x1", "roi.y1", "roi.x2", "roi.y2", "classid"}
	col := make([]int, len(want))
	for i := range col {
		col[i] = -1
	}
	for j, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if i := slices.Index(want, h); i >= 0 {
			if col[i] >= 0 {
				return nil, false, fmt.Errorf("header repeats column %q", header[j])
			}
			col[i] = j
		}
	}
	for i, c := range col[:5] {
		if c < 0 {
			return nil, false, fmt.Errorf("header %q lacks column %q", strings.Join(header, ";"), want[i])
		}
	}
	hasClass = col[5] >= 0

	for {
		row, err := cr.Read()
		if err == io.EOF {
			return recs, hasClass, nil
		}
		if err != nil {
			return nil, false, err
		}
		line, _ := cr.FieldPos(0)
		rec := gtsrbRecord{file: strings.TrimSpace(row[col[0]]), class: -1}
		if rec.file == "" || !filepath.IsLocal(rec.file) || filepath.Base(rec.file) != rec.file {
			return nil, false, fmt.Errorf("line %d: file name %q is not a plain file name", line, rec.file)
		}
		var v [5]int
		for i := 1; i < len(want); i++ {
			if col[i] < 0 {
				continue
			}
			s := strings.TrimSpace(row[col[i]])
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > gtsrbMaxCoord {
				return nil, false, fmt.Errorf("line %d: %s %q is not an integer in 0..%d", line, header[col[i]], s, gtsrbMaxCoord)
			}
			v[i-1] = n
		}
		rec.roi = image.Rect(v[0], v[1], v[2], v[3])
		if v[0] >= v[2] || v[1] >= v[3] {
			return nil, false, fmt.Errorf("line %d: empty ROI (%d,%d)-(%d,%d)", line, v[0], v[1], v[2], v[3])
		}
		if hasClass {
			if v[4] >= gtsrbNumClasses {
				return nil, false, fmt.Errorf("line %d: ClassId %d is not in 0..%d", line, v[4], gtsrbNumClasses-1)
			}
			rec.class = v[4]
		}
		recs = append(recs, rec)
	}
}

// readPPMFile decodes the PPM image at path.
func readPPMFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := DecodePPM(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// appendResizedRGB resamples region r of img to w x h pixels with bilinear
// interpolation and appends the result to dst as HWC float32 RGB in [0,1].
// The region is first copied to an 8-bit RGBA image, the one type the resizer
// has a fast path for; any alpha is dropped.
func appendResizedRGB(dst []float32, img image.Image, r image.Rectangle, w, h int) []float32 {
	crop := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(crop, crop.Bounds(), img, r.Min, draw.Src)
	resized := resize.Resize(uint(w), uint(h), crop, resize.Bilinear)
	out, ok := resized.(*image.RGBA)
	if !ok || out.Bounds() != image.Rect(0, 0, w, h) {
		// The resizer gives an *image.RGBA at the origin for an *image.RGBA
		// input; convert anything else (an empty region) instead of indexing it.
		out = image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(out, out.Bounds(), resized, resized.Bounds().Min, draw.Src)
	}
	for y := range h {
		row := out.Pix[y*out.Stride : y*out.Stride+4*w]
		for x := range w {
			dst = append(dst, float32(row[4*x])/255, float32(row[4*x+1])/255, float32(row[4*x+2])/255)
		}
	}
	return dst
}
