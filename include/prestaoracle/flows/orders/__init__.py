"""Order-to-cash: shop orders into Oracle exactly once (``load``), and Oracle's progress back to the shop (``status``).

One module per concern: ``config`` (what the operator sets), ``gates`` (payment and state rules), ``customers``
(which Oracle account an order is booked against), ``fusion`` and ``ebs`` (the two targets behind one
``OrderLoader`` interface, see ``types``), ``changes`` (cancellations and refunds after import), ``load`` (the flow),
``status`` (Oracle → PrestaShop) and ``digest`` (the business rejections of a run).
"""
