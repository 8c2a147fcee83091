package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writeCurves plots the training loss and the per-epoch accuracies of a
// metrics log into a PNG.
func writeCurves(logPath, pngPath string) error {
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var loss, ce, attr, clean, robust plotter.XYs
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r EpochRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s: %w", logPath, err)
		}
		loss = append(loss, plotter.XY{X: r.Epoch, Y: r.Loss})
		ce = append(ce, plotter.XY{X: r.Epoch, Y: r.CE})
		attr = append(attr, plotter.XY{X: r.Epoch, Y: r.Attr})
		if r.Kind == "epoch" {
			clean = append(clean, plotter.XY{X: r.Epoch, Y: r.CleanAcc})
			robust = append(robust, plotter.XY{X: r.Epoch, Y: r.PGDAcc})
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(loss) == 0 {
		return fmt.Errorf("%s is empty", logPath)
	}
	lp := plot.New()
	lp.Title.Text = "training loss"
	lp.X.Label.Text = "epoch"
	if err := addLines(lp, "loss", smooth(loss), "CE", smooth(ce), "attribution", smooth(attr)); err != nil {
		return err
	}
	ap := plot.New()
	ap.Title.Text = "test accuracy"
	ap.X.Label.Text = "epoch"
	ap.Y.Min, ap.Y.Max = 0, 1
	if err := addLines(ap, "clean", clean, "PGD", robust); err != nil {
		return err
	}
	img := vgimg.New(10*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	pad := vg.Millimeter * 3
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: pad, PadY: pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align([][]*plot.Plot{{lp, ap}}, tiles, dc)
	lp.Draw(canvases[0][0])
	ap.Draw(canvases[0][1])
	out, err := os.Create(pngPath)
	if err != nil {
		return err
	}
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// addLines adds named lines (name, XYs, name, XYs, ...) with distinct colours,
// skipping empty ones.
func addLines(p *plot.Plot, pairs ...any) error {
	for i := 0; i < len(pairs); i += 2 {
		name, xys := pairs[i].(string), pairs[i+1].(plotter.XYs)
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.LineStyle.Color = palette[(i/2)%len(palette)]
		l.LineStyle.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return nil
}

// smooth is a trailing moving average over 20 steps, to make noisy per-batch
// losses readable.
func smooth(xys plotter.XYs) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	sum := 0.0
	for i, p := range xys {
		sum += p.Y
		if i >= 20 {
			sum -= xys[i-20].Y
		}
		out[i] = plotter.XY{X: p.X, Y: sum / float64(min(i+1, 20))}
	}
	return out
}
