from django.urls import path

from cxloop.portal import promises, survey_widget, surveys, tracking, views

app_name = "portal"

urlpatterns = [
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/unsubscribe/", views.one_click_unsubscribe, name="unsubscribe"),
    path("promises/<str:token>/", promises.promises_page, name="promises"),
    path("s/<str:token>/", surveys.survey_page, name="survey"),
    path("s/<str:token>/partial/", surveys.save_partial, name="survey_partial"),
    path("s/<str:token>/thanks/", surveys.thanks_page, name="survey_thanks"),
    path("widget/survey.js", survey_widget.script, name="survey_widget_script"),
    path("widget/invitations", survey_widget.invitation, name="survey_widget_invitation"),
    path("widget/s/<str:token>/", survey_widget.embedded_survey, name="survey_widget_page"),
    path("widget/s/<str:token>/partial/", survey_widget.embedded_partial, name="survey_widget_partial"),
    path("widget/s/<str:token>/thanks/", survey_widget.embedded_thanks, name="survey_widget_thanks"),
    path("widget/track.js", tracking.script, name="tracking_script"),
    path("track", tracking.collect, name="tracking_collect"),
]
