/* Writes cmyk_32x24.jpg, the CMYK JPEG fixture of tests/decode (OpenCV cannot write CMYK JPEGs).
 * Build and run from this folder: cc make_cmyk_jpeg.c -ljpeg -o /tmp/mk && /tmp/mk
 * Four quadrants of flat CMYK ink plus a horizontal ramp in K, stored as libjpeg writes CMYK
 * (with an Adobe APP14 marker, transform 0), quality 95. */
#include <stdio.h>
#include <jpeglib.h>

int main(void) {
  enum { W = 32, H = 24 };
  static unsigned char px[W * H * 4];
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      unsigned char* p = px + (y * W + x) * 4;
      const int q = (y >= H / 2) * 2 + (x >= W / 2);
      static const unsigned char ink[4][4] = {
          {255, 40, 40, 0}, {40, 255, 40, 0}, {40, 40, 255, 0}, {200, 200, 200, 60}};
      for (int c = 0; c < 4; ++c) p[c] = ink[q][c];
      if (y == H / 2 - 1) p[3] = (unsigned char)(x * 8);
    }
  FILE* f = fopen("cmyk_32x24.jpg", "wb");
  if (!f) return 1;
  struct jpeg_compress_struct ci;
  struct jpeg_error_mgr err;
  ci.err = jpeg_std_error(&err);
  jpeg_create_compress(&ci);
  jpeg_stdio_dest(&ci, f);
  ci.image_width = W;
  ci.image_height = H;
  ci.input_components = 4;
  ci.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&ci);
  jpeg_set_quality(&ci, 95, TRUE);
  jpeg_start_compress(&ci, TRUE);
  while (ci.next_scanline < ci.image_height) {
    JSAMPROW row = px + ci.next_scanline * W * 4;
    jpeg_write_scanlines(&ci, &row, 1);
  }
  jpeg_finish_compress(&ci);
  jpeg_destroy_compress(&ci);
  fclose(f);
  return 0;
}
