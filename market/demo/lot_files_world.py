"""Demo files of a lot: a laboratory analysis (PDF, rendered by WeasyPrint) and a photo (PNG,
drawn with Pillow), attached through the same operation as an upload."""

from __future__ import annotations

import io
import random

from markupsafe import escape

from market.lots.files import add_file

ANALYSIS = [  # component, mass fraction, method
    ("SiO₂", "34,2 %", "ГОСТ 2642.3"), ("FeO (Fe общ.)", "41,8 %", "ГОСТ 2642.5"),
    ("CaO", "6,1 %", "ГОСТ 2642.7"), ("Al₂O₃", "4,9 %", "ГОСТ 2642.4"),
    ("Cu", "0,71 %", "ГОСТ 26388"), ("Zn", "2,3 %", "ГОСТ 26388"), ("Pb", "0,18 %", "ГОСТ 26388"),
    ("Влажность", "1,2 %", "ГОСТ 5180"),
]


def analysis_pdf(lot_title: str) -> bytes:
    from market.registry.pdf import render_pdf

    rows = "".join(f"<tr><td>{escape(c)}</td><td>{escape(v)}</td><td>{escape(m)}</td></tr>"
                   for c, v, m in ANALYSIS)
    html = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8"><style>
      @font-face {{ font-family: "DejaVu Sans"; src: url("fonts/DejaVuSans.ttf"); }}
      @font-face {{ font-family: "DejaVu Sans"; font-weight: bold; src: url("fonts/DejaVuSans-Bold.ttf"); }}
      @page {{ size: A4; margin: 20mm 18mm; }}
      body {{ font-family: "DejaVu Sans", sans-serif; font-size: 10pt; }}
      h1 {{ font-size: 14pt; }} table {{ border-collapse: collapse; width: 100%; margin-top: 4mm; }}
      td, th {{ border: 0.5pt solid #777; padding: 1.5mm 2mm; text-align: left; }}
      .muted {{ color: #555; font-size: 8.5pt; }}
    </style></head><body>
      <p class="muted">Демонстрационный документ Qaldyq — не является официальным протоколом.</p>
      <h1>Протокол лабораторных испытаний № 47/2026</h1>
      <p>Испытательная лаборатория ТОО «Балқаш Мыс» (демо), аттестат аккредитации KZ.И.09.0000.</p>
      <p>Объект испытаний: {escape(lot_title)}. Проба отобрана 12.01.2026, шлакоотвал № 1,
         масса пробы 5 кг, фракция 0–5 мм.</p>
      <table><tr><th>Показатель</th><th>Массовая доля</th><th>Метод</th></tr>{rows}</table>
      <p>Заключение: отход неопасный (10 06 01), пригоден для производства цемента и абразивов.</p>
      <p>Начальник лаборатории ______________ А. Сейтказина</p>
    </body></html>"""
    return render_pdf(html)


def slag_photo() -> bytes:
    """A picture of a slag heap: sky, a dark granular heap, the ground."""
    from PIL import Image, ImageDraw

    width, height = 720, 440
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):  # sky to steppe
        t = y / height
        sky = (int(150 + 80 * t), int(190 + 40 * t), int(225 + 10 * t))
        ground = (int(170 - 40 * t), int(150 - 35 * t), int(105 - 30 * t))
        draw.line([(0, y), (width, y)], fill=sky if y < 280 else ground)
    heap = [(40, 330), (210, 150), (330, 110), (470, 160), (680, 335)]
    draw.polygon(heap, fill=(58, 56, 60))
    rnd = random.Random(47)  # noqa: S311 (a picture, not a secret)
    for _ in range(2500):  # granules on the heap's slope
        x, y = rnd.randint(60, 660), rnd.randint(120, 335)
        shade = rnd.randint(35, 95)
        if img.getpixel((x, y)) == (58, 56, 60):
            draw.point((x, y), fill=(shade, shade - 3, shade + 4))
    draw.rectangle([(560, 300), (640, 340)], fill=(200, 150, 40))  # a loader for scale
    draw.rectangle([(585, 285), (615, 300)], fill=(60, 60, 70))
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def attach_demo_files(lot, actor) -> None:
    add_file(lot, actor=actor, kind="document", filename="Протокол испытаний № 47-2026.pdf",
             stream=io.BytesIO(analysis_pdf(lot.title)))
    add_file(lot, actor=actor, kind="photo", filename="Шлакоотвал №1.png",
             stream=io.BytesIO(slag_photo()))
