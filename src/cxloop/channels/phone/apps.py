from django.apps import AppConfig


class PhoneConfig(AppConfig):
    name = "cxloop.channels.phone"
    label = "phone"
    verbose_name = "Phone calls"

    def ready(self) -> None:
        from cxloop.channels.phone.views import panel_context
        from cxloop.web.panels import register_customer_panel

        register_customer_panel("calls", "Calls", "phone/panel.html", panel_context, order=50)
