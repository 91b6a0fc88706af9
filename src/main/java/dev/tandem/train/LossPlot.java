package dev.tandem.train;

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

/** Draws training and validation loss against step into a PNG (headless AWT, no dependencies). */
final class LossPlot {
    private static final int W = 900, H = 540, LEFT = 80, RIGHT = 30, TOP = 50, BOTTOM = 60;

    private LossPlot() {}

    /** A point of a curve. */
    record Point(double step, double loss) {}

    static void write(Path file, String title, List<Point> train, List<Point> val) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);

        double maxStep = 1, lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (List<Point> series : List.of(train, val)) {
            for (Point p : series) {
                maxStep = Math.max(maxStep, p.step());
                lo = Math.min(lo, p.loss());
                hi = Math.max(hi, p.loss());
            }
        }
        if (lo > hi) { lo = 0; hi = 1; }
        if (hi - lo < 1e-9) { hi = lo + 1; }
        double pad = 0.05 * (hi - lo);
        double yMin = lo - pad, yMax = hi + pad, xMax = maxStep;

        g.setColor(new Color(0xDDDDDD));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i <= 5; i++) {
            double v = yMin + (yMax - yMin) * i / 5;
            int y = y(v, yMin, yMax);
            g.setColor(new Color(0xE5E5E5));
            g.drawLine(LEFT, y, W - RIGHT, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format("%.2f", v), 20, y + 4);
            double s = xMax * i / 5;
            int x = x(s, xMax);
            g.drawString(String.format("%.0f", s), x - 10, H - BOTTOM + 20);
        }
        g.setColor(Color.BLACK);
        g.drawRect(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        g.drawString("step", W / 2 - 10, H - 15);
        g.drawString("loss (nats/token)", LEFT, TOP - 6);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, LEFT, 24);

        curve(g, train, new Color(0x4C72B0), 1.2f, xMax, yMin, yMax);
        curve(g, val, new Color(0xDD8452), 2.5f, xMax, yMin, yMax);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        legend(g, W - RIGHT - 170, TOP + 20, new Color(0x4C72B0), "train");
        legend(g, W - RIGHT - 170, TOP + 40, new Color(0xDD8452), "validation");
        g.dispose();
        dev.tandem.io.AtomicFiles.write(file, tmp -> ImageIO.write(img, "png", tmp.toFile()));
    }

    private static void curve(Graphics2D g, List<Point> pts, Color color, float width, double xMax, double yMin, double yMax) {
        if (pts.isEmpty()) return;
        g.setColor(color);
        g.setStroke(new BasicStroke(width));
        Path2D path = new Path2D.Double();
        for (int i = 0; i < pts.size(); i++) {
            double px = x(pts.get(i).step(), xMax), py = y(pts.get(i).loss(), yMin, yMax);
            if (i == 0) path.moveTo(px, py); else path.lineTo(px, py);
        }
        g.draw(path);
        if (pts.size() < 50) for (Point p : pts) g.fillOval(x(p.step(), xMax) - 3, y(p.loss(), yMin, yMax) - 3, 6, 6);
    }

    private static void legend(Graphics2D g, int x, int y, Color c, String label) {
        g.setColor(c);
        g.fillRect(x, y - 9, 18, 10);
        g.setColor(Color.BLACK);
        g.drawString(label, x + 25, y);
    }

    private static int x(double step, double xMax) {
        return LEFT + (int) Math.round((W - LEFT - RIGHT) * step / xMax);
    }

    private static int y(double v, double yMin, double yMax) {
        return TOP + (int) Math.round((H - TOP - BOTTOM) * (1 - (v - yMin) / (yMax - yMin)));
    }
}
