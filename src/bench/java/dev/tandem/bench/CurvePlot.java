package dev.tandem.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** Several named curves y(x) in one PNG (headless AWT): e.g. validation loss vs tokens per optimizer. */
final class CurvePlot {
    private static final int W = 960, H = 580, LEFT = 80, RIGHT = 200, TOP = 50, BOTTOM = 60;
    private static final Color[] COLORS = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868),
            new Color(0xC44E52), new Color(0x8172B3), new Color(0x937860), new Color(0xDA8BC3), new Color(0x8C8C8C)};

    private CurvePlot() {}

    record Series(String label, double[] x, double[] y) {}

    static void write(Path file, String title, String xLabel, String yLabel, List<Series> series) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        double xMax = 1, lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                xMax = Math.max(xMax, s.x()[i]);
                lo = Math.min(lo, s.y()[i]);
                hi = Math.max(hi, s.y()[i]);
            }
        }
        if (lo > hi) { lo = 0; hi = 1; }
        if (hi - lo < 1e-9) hi = lo + 1;
        double yMin = lo - 0.05 * (hi - lo), yMax = hi + 0.05 * (hi - lo);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i <= 5; i++) {
            int y = y(yMin + (yMax - yMin) * i / 5, yMin, yMax);
            g.setColor(new Color(0xE5E5E5));
            g.drawLine(LEFT, y, W - RIGHT, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.2f", yMin + (yMax - yMin) * i / 5), 20, y + 4);
            int x = x(xMax * i / 5, xMax);
            g.drawString(String.format("%,.0f", xMax * i / 5), x - 20, H - BOTTOM + 20);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        g.drawString(xLabel, (W - RIGHT) / 2, H - 15);
        g.drawString(yLabel, 10, TOP - 6);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, LEFT, 22);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            Color c = COLORS[k % COLORS.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(2f));
            Path2D path = new Path2D.Double();
            for (int i = 0; i < s.x().length; i++) {
                double px = x(s.x()[i], xMax), py = y(s.y()[i], yMin, yMax);
                if (i == 0) path.moveTo(px, py); else path.lineTo(px, py);
            }
            g.draw(path);
            int ly = TOP + 20 + 20 * k;
            g.fillRect(W - RIGHT + 15, ly - 9, 18, 10);
            g.setColor(Color.BLACK);
            g.drawString(s.label(), W - RIGHT + 40, ly);
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static int x(double v, double xMax) {
        return LEFT + (int) Math.round((W - LEFT - RIGHT) * v / xMax);
    }

    private static int y(double v, double yMin, double yMax) {
        return TOP + (int) Math.round((H - TOP - BOTTOM) * (1 - (v - yMin) / (yMax - yMin)));
    }
}
