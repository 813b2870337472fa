from django.contrib import admin
from django.urls import include, path, re_path

from cxloop.api.errors import api_not_found
from cxloop.api.main import api

admin.site.site_header = "cxloop administration"
admin.site.site_title = "cxloop admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),  # after every API route: unknown API URLs get the JSON error shape
    path("p/", include("cxloop.portal.urls")),
    path("hooks/", include("cxloop.channels.urls")),
    path("phone/", include("cxloop.channels.phone.urls")),
    path("hooks/", include("cxloop.channels.sms.urls")),
    path("hooks/", include("cxloop.channels.whatsapp.urls")),
    path("chat/", include("cxloop.channels.webchat.urls")),
    path("", include("cxloop.web.urls")),
]
